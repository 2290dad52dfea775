"""1#'s trend: it follows a smooth furnace programme, so a reading far from a local line through its last
accepted readings is suspicious (a one-digit misread: 1264 read as 1254). 2# is erratic and has none.
"""

from collections import deque
from dataclasses import dataclass

import numpy as np

WINDOW = 6  # accepted readings the line is fitted through
MAX_SPAN_S = 15.0  # older readings say nothing about now
MIN_POINTS = 4  # fewer: no trend yet, nothing is suspicious
TOLERANCE_C = 4.0  # the display's own jitter around the programme is +-2 degC


@dataclass(frozen=True, slots=True)
class TrendVerdict:
    expected: float | None  # the line's value at this time; None when there is no trend yet
    deviation: float  # |value - expected| (0 without a trend)
    tolerance: float

    @property
    def off(self) -> bool:
        return self.expected is not None and self.deviation > self.tolerance

    def describe(self, value: int) -> str:
        return f"{value} is {self.deviation:.0f} degC off 1#'s trend ({self.expected:.0f} expected)"


class TrendCheck:
    """A least-squares line through the last accepted readings, extrapolated to the frame's time."""

    def __init__(self, *, tolerance_c: float = TOLERANCE_C) -> None:
        self.tolerance_c = tolerance_c
        self._points: deque[tuple[float, int]] = deque(maxlen=WINDOW)

    def evaluate(self, value: int, time_s: float) -> TrendVerdict:
        points = [(t, v) for t, v in self._points if time_s - MAX_SPAN_S <= t < time_s]
        if len(points) < MIN_POINTS:
            return TrendVerdict(None, 0.0, self.tolerance_c)
        t = np.array([p[0] for p in points]) - time_s
        v = np.array([p[1] for p in points], dtype=float)
        slope, intercept = np.polyfit(t, v, 1)
        residual = float(np.sqrt(np.mean((v - (slope * t + intercept)) ** 2)))
        # A noisier stretch (the sample flashing, a programme corner) widens the band.
        tolerance = self.tolerance_c + 2.0 * residual
        return TrendVerdict(float(intercept), abs(value - float(intercept)), tolerance)

    def commit(self, value: int, time_s: float) -> None:
        self._points.append((time_s, value))
