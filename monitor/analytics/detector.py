"""The online stage detector: causal (past frames only); each transition confirmed a few frames later.

It reads signals the camera cannot fake (see analytics/camera.py):
- `level`, the whole-frame mean with the camera's gain steps divided out, for the heating events;
- `sample`, the sample box's brightness over the rest of the frame (a gain or flicker multiplies both), and
  `texture`, the mean squared local contrast of the sample box with the sensor noise taken out (an area
  average of the crystals: features.area_texture), for crystallization.
The level's frames the camera moved are revised in hindsight (`revise`); the texture, a ratio within the
frame, is taken as it is at an exposure step (bridging its jump there dropped real growth).

The physics each event must obey, enforced here:
- events come in order: melting_start -> melting_complete -> fully_molten -> crystallization_start -> end;
  heating events not seen before 1#'s hold are given up (a recording begun late; without melting_start the
  flash's collapse and the clearing are looked for once, in hindsight), not the cooling ones;
- nothing happens while 1# holds at its peak: no event is searched for, or dated, in the hold;
- crystals form on cooling below the liquidus: crystallization_start only once 1# has left its hold and is
  below the 1# at fully_molten (without it: the flux's configured liquidus; with neither: not searched);
- crystallization ends when the crystalline share stops growing (analytics/growth_end.py).
A step counts if the level after it holds for HOLD frames and differs from the median of the WINDOW frames
before: an excursion that comes back is no step (the camera tracker takes out glints of up to 8 frames).
Without the evidence (a table of means has no sample box): not found, with why.
"""

import dataclasses
import math
from dataclasses import dataclass, field

import numpy as np

from monitor.analytics.clouding import clouding_step
from monitor.analytics.growth_end import GrowthEndSearch
from monitor.analytics.observation import Observation
from monitor.analytics.programme import Programme
from monitor.analytics.signals import (
    CLEARING,
    DROP_NOISE,
    HOLD,
    WINDOW,
    Series,
    confidence,
    flash_climb,
    flash_climbing,
    flash_collapse,
    flash_peak,
)
from monitor.records import EventType, Evidence, MissedEvent, Stage, StageEvent
from monitor.stages import stage_at

LATE = 30  # frames into 1#'s hold after which unseen heating events are over (searches confirm <= 10 late)
HINDSIGHT = " (in hindsight, once 1# held: melting_start was not seen)"


@dataclass(frozen=True, slots=True)
class _Heating:
    """What the melt flash rose from: where the search for its collapse starts, the level, the frame before
    which the level's jitter is measured; `hindsight` when the flash's climb was not seen."""

    start: int
    level: float
    noise_at: int
    hindsight: bool = False


@dataclass(slots=True)
class _Marks:
    events: dict[EventType, StageEvent] = field(default_factory=dict)
    why: dict[EventType, str] = field(default_factory=dict)


class StageDetector:
    """Feed frames in time order with `update`; it returns the events it has just confirmed."""

    def __init__(self, *, confirm_frames: int = HOLD, liquidus_c: float | None = None) -> None:
        # Fewer frames than a glint lasts cannot tell a glint from a step: HOLD is the floor.
        self.confirm_frames = max(confirm_frames, HOLD)
        self.liquidus_c = liquidus_c  # the flux's, configured: the bound when fully_molten was not seen
        self._points: list[Observation] = []
        self._level = Series()
        self._sample = (Series(), Series(), Series())
        self._texture = Series()
        self._growth_end = GrowthEndSearch()
        self._marks = _Marks()
        self._index: dict[EventType, int] = {}
        self._heating = _Heating(0, math.nan, 0)  # what the flash rose from, once known
        self._collapse = math.nan
        self._programme = Programme()
        self._revised_from: int | None = None  # the earliest level revised since the last frame
        self._given_up: set[EventType] = set()  # heating events not seen before 1#'s hold (_give_up_heating)

    @property
    def events(self) -> list[StageEvent]:
        return list(self._marks.events.values())

    @property
    def cooling_start_s(self) -> float | None:
        return self._programme.cooling_start_s

    @property
    def stage(self) -> Stage:
        """The stage of the latest frame, as far as confirmed."""
        return self.stage_of(self._points[-1].time_s) if self._points else Stage.HEATING

    def stage_of(self, time_s: float) -> Stage:
        return stage_at(time_s, {k: e.time_s for k, e in self._marks.events.items()}, self.cooling_start_s)

    def not_found(self) -> list[MissedEvent]:
        """The events not (yet) found, each with the reason the search gives now."""
        return [
            MissedEvent(kind, self._marks.why.get(kind, "an earlier event was not found"))
            for kind in EventType
            if kind not in self._marks.events
        ]

    def revise(self, revisions: list[tuple[int, float]]) -> None:
        """Levels known better in hindsight (CameraTracker.take_revisions): a gain ramp's, a glint's."""
        for index, level in revisions:
            if 0 <= index < len(self._level.values):
                self._level.values[index] = level
                self._revised_from = index if self._revised_from is None else min(index, self._revised_from)

    def update(self, observation: Observation) -> list[StageEvent]:
        if EventType.CRYSTALLIZATION_END not in self._marks.events:  # no use for them after it
            self._growth_end.add_pixels(len(self._points), observation.pixels)
        self._points.append(dataclasses.replace(observation, pixels=None))  # the pixels are kept above
        self._level.append(observation.level)
        # Ratios inside the frame: the camera's gain cancels out, and a local change may coincide with it.
        for series, value in zip(self._sample, observation.sample, strict=True):
            series.append(value)
        self._texture.append(observation.texture)
        self._programme.follow(observation.time_s, observation.t1_c)
        before = set(self._marks.events)
        self._step()
        return [e for k, e in self._marks.events.items() if k not in before]

    def _heating_over(self, i: int, kind: EventType) -> bool:
        """Heating events are not searched for from 1#'s hold on (a drop or flash there is something else)."""
        if self._programme.hold_from is not None and i >= self._programme.hold_from:
            self._marks.why[kind] = "1# reached its hold before this was seen"
            return True
        return False

    def _step(self) -> None:
        self._give_up_heating()
        searches = (self._find_melting_start, self._find_melting_complete, self._find_fully_molten,
                    self._find_crystallization_start, self._find_crystallization_end)  # fmt: skip
        for kind, find in zip(EventType, searches, strict=True):
            if kind not in self._marks.events and kind not in self._given_up:
                find()
                break
        self._revised_from = None

    def _give_up_heating(self) -> None:
        """Heating events not seen LATE frames into 1#'s hold are over: a recording that began late, or a
        melt the camera could not show, must not hide the cooling events. A recording begun during the flash
        (its first frames climb as only a flash does) is first searched once more on its frames before the
        hold, for the collapse and the clearing, so that it still has its own liquidus. Not any other: a
        collapse whose climb was not seen may be the clearing (the real run from 175 s)."""
        hold = self._programme.hold_from
        if hold is None or len(self._points) - hold < LATE:
            return
        x, seen = self._level.values, self._marks.events.keys() | self._given_up
        if EventType.MELTING_START not in seen and hold > 2 * HOLD and flash_climbing(x, 2 * HOLD):
            self._heating = _Heating(0, float(np.nanmedian(x[:HOLD])), hold, hindsight=True)
            for n in range(2 * HOLD, hold + self.confirm_frames + 1):
                self._find_melting_complete(n)
                if EventType.MELTING_COMPLETE in self._marks.events:
                    self._revised_from = 0  # every clearing candidate since, at once
                    self._find_fully_molten()
                    break
        for kind in (EventType.MELTING_START, EventType.MELTING_COMPLETE, EventType.FULLY_MOLTEN):
            if kind not in self._marks.events:
                self._given_up.add(kind)
                self._marks.why.setdefault(kind, "not seen before 1# reached its hold")

    def _mark(self, kind: EventType, index: int, confidence: float, evidence: list[Evidence]) -> None:
        p, c = self._points[index], round(confidence, 3)
        self._marks.events[kind] = StageEvent(kind, p.time_s, p.file, p.t1_c, c, tuple(evidence))
        self._index[kind] = index

    def _find_melting_start(self) -> None:
        """The flash: the level climbs several times faster than while heating and than it ever climbed before
        (noise, flicker), over HOLD frames or twice as many (a flickering light), and keeps that climb on
        the confirm_frames after (signals.flash_climb). Searched every frame until found, on the window whose
        frames after have just come in, and again on each window over levels revised since:
        under a +-6 % flicker the camera tracker divided 10-15 % of a flash's climb out as provisional gain
        steps and gave them back 20 frames on, and judged only as first given the climb was missed (probe
        programme quick-ramp-hot)."""
        kind = EventType.MELTING_START
        self._marks.why[kind] = "the frame mean never climbed faster than while heating"
        hold = self.confirm_frames
        last = len(self._level.values) - hold  # the climb must hold on the frames after its window
        first = last if self._revised_from is None else min(self._revised_from + 1 - hold, last)
        times = [p.time_s for p in self._points]
        for n in range(first, last + 1):  # the window ends before frame n
            for k in (hold, 2 * hold):
                # At least four windows of k+1 frames before the candidate, to know how they climb.
                if n < 2 * k + 4 or self._heating_over(n - k, kind):
                    break
                climb = flash_climb(self._level.values, times, n, k, hold)
                if climb is not None:
                    self._mark(kind, climb.at, confidence(climb.margin), [climb.evidence()])
                    self._heating = _Heating(climb.at, climb.base, climb.at)
                    return

    def _find_melting_complete(self, n: int | None = None) -> None:
        """The flash collapses (signals.flash_collapse): the event is its peak, the frame before the collapse.
        Judged on the frames up to n (in hindsight, on those before 1#'s hold)."""
        x, heating = self._level.values[:n], self._heating
        self._marks.why[EventType.MELTING_COMPLETE] = "the melt flash has not collapsed"
        jitter = self._level.noise_before(heating.noise_at)
        peak = flash_peak(x, heating.start, heating.level, jitter)
        if self._heating_over(peak, EventType.MELTING_COMPLETE):
            return
        # Without the climb seen, only a collapse of a tenth of the level is the flash's.
        floor = max(4.0 * jitter, 0.1 * heating.level if heating.hindsight else 0.0)
        found = flash_collapse(x, peak, heating.level, floor, self.confirm_frames)
        if found is not None:
            drop, need, amplitude = found
            note = f"flash amplitude {amplitude:.1f}" + (HINDSIGHT if heating.hindsight else "")
            self._mark(EventType.MELTING_COMPLETE, peak, confidence(drop / need),
                       [Evidence("flash collapse", drop, need, note)])  # fmt: skip
            self._collapse = drop

    def _find_fully_molten(self) -> None:
        """The turbid melt clears: the next held sharp drop of the level once the collapse has settled, while
        1# still climbs (nothing happens to a fully molten sample in the hold). A gain ramp is known only when
        it ends, after the frames it moved were judged: those whose hold it covered are judged again."""
        n = len(self._points)
        start = self._index[EventType.MELTING_COMPLETE] + 3
        last = n - self.confirm_frames
        self._marks.why[EventType.FULLY_MOLTEN] = "no held drop of the frame mean after the flash"
        first = last if self._revised_from is None else min(self._revised_from - self.confirm_frames, last)
        jitter = self._level.noise_before(self._heating.noise_at)
        jitter = jitter if math.isfinite(jitter) else 0.0
        for i in range(max(first, start + WINDOW), last + 1):
            if self._heating_over(i, EventType.FULLY_MOLTEN):
                return
            step = self._level.step_at(i, start=start, hold=self.confirm_frames)
            if step is None or step.size >= 0:
                continue
            # The few settled frames since the collapse may look quiet by chance (a flicker gave 0.7/frame
            # over 11 frames, 2.5 while heating): the level's jitter while heating, scaled, is a floor.
            floor = jitter * self._level.values[i - 1] / self._heating.level if self._heating.level else 0.0
            threshold = max(DROP_NOISE * step.noise, DROP_NOISE * floor, CLEARING * self._collapse)
            if -step.size > threshold:
                note = f"noise {step.noise:.2f}/frame, while heating {floor:.2f}"
                evidence = [Evidence("level drop", step.size, -threshold, note)]
                self._mark(EventType.FULLY_MOLTEN, i, confidence(-step.size / threshold), evidence)
                return

    def _find_crystallization_start(self) -> None:
        """Crystals cloud the melt: a held step of the sample contrast while cooling below the liquidus."""
        kind = EventType.CRYSTALLIZATION_START
        n = len(self._points)
        i = n - 2 * self.confirm_frames  # the clouding's step must hold, and stay (clouding.clouding_step)
        fm = self._marks.events.get(EventType.FULLY_MOLTEN)
        has_t1, cooling = any(p.t1_c is not None for p in self._points), self._programme.cooling_from
        if has_t1 and cooling is None:
            self._marks.why[kind] = "1# has not started cooling"
            return
        if all(math.isnan(v) for series in self._sample for v in series.values[-HOLD:]):
            self._marks.why[kind] = (
                "no sample signal: whole-frame channel means cannot tell the melt clouding from the camera's"
                " gain or the glow fading; the frames are needed"
            )
            return
        first = cooling if cooling is not None else self._index[EventType.FULLY_MOLTEN] + HOLD
        if i - first < WINDOW:
            self._marks.why[kind] = "cooling has only just started"
            return
        t1 = self._points[i].t1_c
        # Below the liquidus: the run's own 1# at fully_molten, else the flux's configured one.
        if fm is None and self.liquidus_c is None:
            self._marks.why[kind] = "fully_molten not seen, so the liquidus is unknown (analytics.liquidus_c)"
            return
        bound, name = (fm.t1_c, "fully molten") if fm else (self.liquidus_c, "the configured liquidus")
        if bound is not None and t1 is not None and not t1 < bound:
            self._marks.why[kind] = f"1# ({t1:g} degC) not yet below {name} ({bound:g})"
            return
        self._marks.why[kind] = "no held step of the sample contrast while cooling"
        best = clouding_step(self._sample, i, start=first, hold=self.confirm_frames)
        if best is None:
            return
        channel = f"sample contrast step ({'BGR'[best.channel]})"
        evidence = [Evidence(channel, best.step.size, best.threshold, best.note)]
        if bound is not None and t1 is not None:
            evidence.append(Evidence(f"1# below {name}", t1, bound, "cooling below the liquidus"))
        self._mark(kind, i, confidence(best.margin), evidence)

    def _find_crystallization_end(self) -> None:
        """Growth stops: the sample's pixels have crystallized, or its texture has reached a plateau."""
        # Without fully_molten (a recording that began late) the melt is read on the frames before the start.
        start, melt = self._index[EventType.CRYSTALLIZATION_START], self._index.get(EventType.FULLY_MOLTEN, 0)
        found = self._growth_end.judge(self._texture.values, start, melt, lambda j: self._points[j].time_s)
        if isinstance(found, str):
            self._marks.why[EventType.CRYSTALLIZATION_END] = found
        else:
            self._mark(EventType.CRYSTALLIZATION_END, found.index, found.confidence, found.evidence)
