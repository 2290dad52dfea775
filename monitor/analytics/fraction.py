"""The crystallized area fraction measured on the image.

Crystals are textured and the melt is smooth, so the share of the sample box whose local contrast is high
grows with the crystalline area. Online, that growth since crystallization_start is scaled by the share the
powder covered while heating (the whole sample, textured); it is an estimate until the run ends. Offline,
once crystallization_end is known, the texture is scaled between its values at the start and at the end.
"""

import math
from collections import deque

import numpy as np

BASELINE_FRAMES = 10  # frames up to crystallization_start whose median share is the melt's
RECENT_FRAMES = 40  # kept: the confirmation delay plus the baseline, with room


class OnlineFraction:
    """Feeds on textured_share frame by frame; knows the start and end once the detector confirms them."""

    def __init__(self) -> None:
        self._powder: list[float] = []
        # recent (time, share): the detector dates crystallization_start back a few frames when it confirms it
        self._recent: deque[tuple[float, float]] = deque(maxlen=RECENT_FRAMES)
        self._baseline: float | None = None
        self._ended = False

    def heating(self, share: float) -> None:
        """A frame from before melting: the powder covers the whole sample."""
        if not math.isnan(share):
            self._powder.append(share)

    def observe(self, time_s: float, share: float) -> None:
        self._recent.append((time_s, share))

    def started(self, time_s: float) -> None:
        """The melt's share is the median of the last BASELINE_FRAMES up to the start: one frame's share
        is noisy, and a baseline too high holds the fraction at 0 through the first percent of growth
        (which bends the kinetics fitted to it, analytics/progress.py)."""
        melt = [s for t, s in self._recent if t <= time_s and not math.isnan(s)][-BASELINE_FRAMES:]
        self._baseline = float(np.median(melt)) if melt else None

    def ended(self) -> None:
        self._ended = True

    def value(self, share: float) -> float | None:
        if self._ended:
            return 1.0
        if self._baseline is None or math.isnan(share):
            return None
        full = float(np.median(self._powder)) if self._powder else math.nan
        span = full - self._baseline
        if not span > 0:
            return None
        return float(np.clip((share - self._baseline) / span, 0.0, 1.0))


def offline_fraction(
    times: list[float], texture: list[float | None], start: float | None, end: float | None
) -> list[float | None]:
    """Texture scaled to 0 at crystallization_start and 1 at crystallization_end (None where unknown)."""
    if start is None or end is None:
        return [None] * len(times)
    by_time = dict(zip(times, texture, strict=True))
    t0, t1 = by_time.get(start), by_time.get(end)
    if t0 is None or t1 is None or not t1 > t0:
        return [None] * len(times)
    out: list[float | None] = []
    for t, x in zip(times, texture, strict=True):
        if t < start:
            out.append(0.0)
        elif t >= end:
            out.append(1.0)
        else:
            out.append(None if x is None else float(np.clip((x - t0) / (t1 - t0), 0.0, 1.0)))
    return out
