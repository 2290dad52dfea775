"""The online stage detector: causal (past frames only), each transition confirmed within a few frames.

It works on the feature series alone (whole-frame mean, textured share of the sample, 1# when read), so
it runs the same on live frames and on a table of per-frame means. Every threshold is relative to the
run's own statistics:
- melting_start: the mean starts climbing several times faster than it did while heating (the melt flash);
- melting_complete: the flash collapses; the event is the frame before the collapse (the flash's peak);
- fully_molten: the next sharp drop, when the turbid melt clears;
- cooling starts when 1# leaves its hold (or, without 1#, is not marked);
- crystallization_start: the largest kind of drop of the mean once molten: far beyond the frame-to-frame
  noise of the cooling so far (the melt clouds as crystals nucleate);
- crystallization_end: the textured share of the sample box steps up (the last pockets freeze together)
  and then stays flat.
"""

import itertools
import math
from dataclasses import dataclass, field

import numpy as np

from monitor.records import EventType, Stage, StageEvent
from monitor.stages import stage_at


def _robust_std(values: list[float]) -> float:
    """Standard deviation from the median absolute deviation: spikes do not inflate it."""
    if len(values) < 3:
        return math.inf
    a = np.asarray(values, dtype=float)
    return float(1.4826 * np.median(np.abs(a - np.median(a))))


@dataclass(slots=True)
class _Point:
    time_s: float
    file: str
    mean: float
    textured: float
    t1_c: float | None


@dataclass(slots=True)
class _Marks:
    events: dict[EventType, StageEvent] = field(default_factory=dict)
    cooling_start_s: float | None = None


class StageDetector:
    """Feed frames in time order with `update`; it returns the events it has just confirmed."""

    def __init__(self, *, confirm_frames: int = 3) -> None:
        self.confirm_frames = confirm_frames
        self._points: list[_Point] = []
        self._marks = _Marks()
        # Anchors measured along the way.
        self._melt_start_mean = math.nan
        self._peak_index = -1
        self._collapse = math.nan
        self._hold_max: float | None = None
        self._cs_index = -1

    @property
    def events(self) -> list[StageEvent]:
        return list(self._marks.events.values())

    @property
    def cooling_start_s(self) -> float | None:
        return self._marks.cooling_start_s

    @property
    def stage(self) -> Stage:
        """The stage of the latest frame, as far as confirmed."""
        return self.stage_of(self._points[-1].time_s) if self._points else Stage.HEATING

    def stage_of(self, time_s: float) -> Stage:
        return stage_at(time_s, {k: e.time_s for k, e in self._marks.events.items()}, self.cooling_start_s)

    def update(
        self, *, time_s: float, file: str, mean: float, textured: float, t1_c: float | None
    ) -> list[StageEvent]:
        self._points.append(_Point(time_s, file, mean, textured, t1_c))
        before = set(self._marks.events)
        self._step()
        return [e for k, e in self._marks.events.items() if k not in before]

    # --- one transition at a time, in order ----------------------------------------------------------

    def _step(self) -> None:
        ev = self._marks.events
        if EventType.MELTING_START not in ev:
            self._find_melting_start()
        elif EventType.MELTING_COMPLETE not in ev:
            self._find_melting_complete()
        elif EventType.FULLY_MOLTEN not in ev:
            self._find_fully_molten()
        else:
            self._follow_hold()
            if EventType.CRYSTALLIZATION_START not in ev:
                self._find_crystallization_start()
            elif EventType.CRYSTALLIZATION_END not in ev:
                self._find_crystallization_end()

    def _mark(self, kind: EventType, index: int) -> None:
        p = self._points[index]
        self._marks.events[kind] = StageEvent(type=kind, time_s=p.time_s, file=p.file, t1_c=p.t1_c)

    def _diffs(self, start: int = 0, stop: int | None = None) -> list[float]:
        pts = self._points[start:stop]
        return [b.mean - a.mean for a, b in itertools.pairwise(pts)]

    def _find_melting_start(self) -> None:
        n = len(self._points)
        k = self.confirm_frames
        if n < k + 6:
            return
        baseline = self._diffs(0, n - k)
        recent = self._diffs(n - k - 1)
        # Heating raises the mean slowly; the flash raises it several times faster, frame after frame.
        typical = max(float(np.median(np.abs(baseline))), 0.2)
        if all(d > 3.0 * typical for d in recent):
            self._mark(EventType.MELTING_START, n - k)
            self._melt_start_mean = self._points[n - k - 1].mean

    def _find_melting_complete(self) -> None:
        n = len(self._points)
        start = self._index_of(EventType.MELTING_START)
        peak = max(range(start, n), key=lambda i: self._points[i].mean)
        amplitude = self._points[peak].mean - self._melt_start_mean
        after = self._points[peak + 1 : n]
        if amplitude <= 0 or len(after) < 2:
            return
        top = self._points[peak].mean
        # A collapse: a third of the whole flash gone within two frames, and still gone since.
        low = min(range(2) if len(after) > 2 else range(1), key=lambda i: after[i].mean)
        drop = top - after[low].mean
        if (
            drop > 0.3 * amplitude
            and all(top - p.mean > 0.15 * amplitude for p in after[low:])
            and len(after) > low + 1
        ):
            self._mark(EventType.MELTING_COMPLETE, peak)
            self._peak_index = peak
            self._collapse = drop

    def _find_fully_molten(self) -> None:
        n = len(self._points)
        first = self._peak_index + 2  # the first frame after the collapse
        if n - first < 4:
            return
        diffs = self._diffs(first)
        noise = _robust_std(diffs[:-1])
        step = (
            -diffs[-2] if len(diffs) >= 2 else 0.0
        )  # the drop into the previous frame, confirmed by this one
        if step > max(0.15 * self._collapse, 5.0 * noise):
            held = self._points[-2].mean - self._points[-1].mean
            if abs(held) < 0.5 * step:
                self._mark(EventType.FULLY_MOLTEN, n - 2)

    def _follow_hold(self) -> None:
        """Cooling starts when 1# falls below the hold maximum for good (needs 1# readings)."""
        if self._marks.cooling_start_s is not None:
            return
        t1 = [p.t1_c for p in self._points[self._index_of(EventType.FULLY_MOLTEN) :] if p.t1_c is not None]
        if len(t1) < 5:
            return
        hold = max(t1)
        k = self.confirm_frames
        recent = [p for p in self._points[-k:] if p.t1_c is not None]
        if len(recent) == k and all(p.t1_c < hold - 3.0 for p in recent):  # type: ignore[operator]
            # The cooling started at the last frame still at the hold temperature.
            for i in range(len(self._points) - 1, -1, -1):
                if self._points[i].t1_c is not None and self._points[i].t1_c >= hold - 1.0:  # type: ignore[operator]
                    self._marks.cooling_start_s = self._points[i].time_s
                    break

    def _find_crystallization_start(self) -> None:
        """Crystals form on cooling: with 1# read, wait for the end of the hold; without it, search from
        fully molten on. The noise is that of the frames since."""
        n = len(self._points)
        if any(p.t1_c is not None for p in self._points):
            if self._marks.cooling_start_s is None:
                return
            first = next(i for i, p in enumerate(self._points) if p.time_s >= self._marks.cooling_start_s)
        else:
            first = self._index_of(EventType.FULLY_MOLTEN) + 1
        if n - first < 8:
            return
        diffs = self._diffs(first)
        noise = _robust_std(diffs[:-2])
        drop = -diffs[-2]  # into frame n-2, confirmed by frame n-1
        level = self._points[-3].mean
        held = self._points[-3].mean - self._points[-1].mean > 0.5 * drop
        if drop > max(6.0 * noise, 0.03 * level) and held:
            self._mark(EventType.CRYSTALLIZATION_START, n - 2)
            self._cs_index = n - 2

    def _find_crystallization_end(self) -> None:
        n = len(self._points)
        k = self.confirm_frames
        if n - self._cs_index < 10 or any(math.isnan(p.textured) for p in self._points[-k - 8 :]):
            return
        share = [p.textured for p in self._points[self._cs_index :]]
        i = len(share) - k  # candidate: k frames back, judged by the frames after it
        step = share[i] - share[i - 1]
        growth = float(np.median(np.diff(share[i - 6 : i])))
        rise = share[i] - share[0]
        after = max(abs(s - share[i]) for s in share[i + 1 :])
        # The last pockets freeze at once: a step well above the growth just before, then nothing grows.
        if rise > 0 and step > max(3.0 * growth, 0.02 * rise) and after < 0.4 * step:
            self._mark(EventType.CRYSTALLIZATION_END, self._cs_index + i)

    def _index_of(self, kind: EventType) -> int:
        time_s = self._marks.events[kind].time_s
        return next(i for i, p in enumerate(self._points) if p.time_s == time_s)
