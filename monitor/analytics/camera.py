"""What the camera did between two frames, told apart from what the sample did.

A camera's auto exposure (or gain) multiplies every unsaturated pixel by one factor; a glint is a short
excursion that comes back within a few frames; the sample changes part of the picture, and its colour. So a
photometric step is, on frames, a large log-ratio between consecutive frames, the same for every channel and
nearly every unsaturated pixel (photometric.measure_step); on a table of channel means, an upward jump of
every unclipped channel while 1# is falling, since a cooling sample only dims (photometric.table_step).
`CameraTracker` turns them into the run's gain and a gain-compensated brightness (kept in gain_ledger.py),
recognises glints (excursion.py) and what no auto exposure does (exposure.py) in hindsight, and measures a
step again once the scene's trend after it is known (exposure.remeasured).
"""

import math
from dataclasses import dataclass, field

import numpy as np

from monitor.analytics import exposure
from monitor.analytics.excursion import flare_after, returns_to, unstepped_jump
from monitor.analytics.exposure import GLINT_FRAMES, MAX_RAMP, MIN_STEP, Step
from monitor.analytics.gain_ledger import GainLedger
from monitor.analytics.photometric import MIN_UNIFORM, StepMeasure
from monitor.analytics.stats import robust_std
from monitor.records import Flag, FlagKind

Run = list[tuple[int, float]]  # (index, log-ratio) of frames in a row


@dataclass(frozen=True, slots=True)
class CameraState:
    """The camera's part of one frame, as known when the frame was processed."""

    exposure_step: bool  # the gain changed into this frame
    gain: float  # the run's gain relative to its first frame (product of the steps so far)
    level: float  # the whole-frame mean divided by the gain: the brightness of the scene itself


@dataclass(slots=True)
class CameraTracker:
    """Per run: feed each frame's raw mean and step measurement; get its CameraState; `flags`: in hindsight.

    On frames, an auto exposure ramps its gain over a few frames while a flickering light jitters every
    frame both ways: a step is a run of up to MAX_RAMP frames that all change uniformly the same way, whose
    total beats both MIN_STEP and the light's jitter. A longer uniform run is the scene (a flash lights the
    chamber), unless a glint that stands out of it ends it, or its last frame is the light's (under half
    the ramp's frames, or one too many and within the jitter), or it is an auto exposure settling slowly
    (up to GLINT_FRAMES frames, the way it would move: exposure.against_drift). A step no auto exposure
    would make (exposure.camera_made) is provisional: divided out until a glint's return would have come,
    then given back to the scene, the levels since revised."""

    _book: GainLedger = field(default_factory=GainLedger)
    _steps: list[Step] = field(default_factory=list)  # steps not yet past the glint window
    _exposure: set[int] = field(default_factory=set)
    _glint: set[int] = field(default_factory=set)
    _trend: list[float] = field(default_factory=list)  # log-changes of the mean between frames without a step
    _jitter: Run = field(default_factory=list)  # recent frames
    _ramp: Run = field(default_factory=list)  # a uniform run
    _long_run: bool = False  # the uniform run outgrew MAX_RAMP: the scene, until it stops
    _long: Run = field(default_factory=list)  # its frames, while a glint may end it
    _uniform: set[int] = field(default_factory=set)  # recent frames that changed uniformly
    _early: list[Run] = field(default_factory=list)  # ramps closed before the jitter was known
    _returns: set[int] = field(default_factory=set)  # frames that undid a glint's step (registered or not)

    def observe(self, mean: float, step: StepMeasure) -> CameraState:
        index = len(self._book.raw)
        self._book.raw.append(mean)
        if step.decided:
            applied = step.is_step and self._register(index, index)
        else:
            applied = self._follow_ramp(index, step)
            self._judge_early(index)
        quiet = not (applied or self._ramp or self._long_run) and index > 0  # the scene's own change
        # What moved the whole picture comes back over the whole picture: a return is never the sample's.
        if (step.decided or step.uniform) and self._undo_excursion(index):
            self._ramp.clear()
            applied = False
        elif quiet and mean > 0 and self._book.raw[index - 1] > 0:
            self._trend = [*self._trend[-4:], math.log(mean / self._book.raw[index - 1])]
        self._remeasure(index)
        for s in [s for s in self._steps if index - s.index >= GLINT_FRAMES + MAX_RAMP]:
            self._steps.remove(s)
            if s.provisional:
                self._expire(s, index)
        level = self._book.give()
        return CameraState(exposure_step=applied, gain=math.exp(self._book.log_gain), level=level)

    def _expire(self, s: Step, index: int) -> None:
        """A provisional step that did not come back was the scene's: the levels since lose its gain."""
        self._book.give_back(s.index, s.last, s.log_ratio, index)
        self._exposure.difference_update(range(s.index, s.last + 1))

    def take_revisions(self) -> list[tuple[int, float]]:
        """(index, level) of earlier frames whose level is known better now (a ramp's, a glint's), once."""
        return self._book.take_revisions()

    def _scene_trend(self) -> float:
        """The scene's own log-change per frame lately (frames without a camera step)."""
        return float(np.median(self._trend[-5:])) if self._trend else 0.0

    def _glint_over(self, first: int, end: int) -> None:
        """Frames first..end-1 were a glint: flagged so, and their level carried on from before it."""
        self._glint.update(range(first, end))
        self._bridge(first, end - 1)

    def _bridge(self, first: int, last: int) -> None:
        """Frames first..last were the camera's: their level carries on at the scene's trend from before."""
        self._book.bridge(first, last, self._scene_trend())

    def _follow_ramp(self, index: int, step: StepMeasure) -> bool:
        """Grow or close the current run of uniform same-way changes; True if closing it registered a step
        (applied from this frame on)."""
        self._jitter = [*self._jitter[-59:], (index, step.log_ratio)]
        if step.uniform:
            self._uniform = {i for i in self._uniform if index - i <= GLINT_FRAMES + MAX_RAMP} | {index}
        same_way = (
            step.uniform
            and abs(step.log_ratio) >= MIN_UNIFORM
            and (not self._ramp or (self._ramp[0][1] > 0) == (step.log_ratio > 0))
        )
        if same_way and len(self._ramp) == MAX_RAMP:
            # A whole ramp, then a change under half its typical frame's: the light's flicker the same way,
            # which does not make the camera's ramp the scene's long brightening.
            typical = float(np.median([abs(r) for _, r in self._ramp]))
            same_way = abs(step.log_ratio) >= 0.5 * typical
        applied = False
        if self._long_run:
            turned = bool(self._long) and (self._long[0][1] > 0) != (step.log_ratio > 0)
            if turned and self._ramp_then_glint(index, self._long):
                self._long_run, self._long = False, []
                return True
            # Stopped or turned, it may have been a ramp and a flicker frame, or an auto exposure settling.
            ended = turned or not same_way
            applied = ended and (
                self._ramp_then_flicker(index, self._long) or self._settled(index, self._long)
            )
            if same_way and not applied:  # either way: a scene that lit up may dim again, still the scene
                if turned:
                    self._long = []
                elif self._long and len(self._long) < MAX_RAMP + GLINT_FRAMES:
                    self._long.append((index, step.log_ratio))
                return False
            self._long_run, self._long = False, []
        if self._ramp and not same_way:
            applied = self._close_ramp()
        if step.uniform and abs(step.log_ratio) >= MIN_UNIFORM:
            self._ramp.append((index, step.log_ratio))
            if len(self._ramp) > MAX_RAMP:
                self._long, self._ramp = self._ramp, []
                self._long_run = True
        return applied

    def _ramp_then_glint(self, index: int, run: Run) -> bool:
        """True if this frame ends a uniform run too long for a ramp by falling sharply back to where it stood
        up to GLINT_FRAMES frames ago: a ramp (a step), then a glint (excursion.flare_after)."""
        if run[-1][0] != index - 1:  # the run had grown too long to keep every frame
            return False
        g = flare_after(self._book.raw, index, [r for _, r in run])
        if g is None:
            return False
        self._ramp, first_glint = run[:-g], run[-g][0]
        if not self._close_ramp():
            return False
        self._glint.update(range(first_glint, index))
        self._bridge(run[0][0], index - 1)
        return True

    def _ramp_then_flicker(self, index: int, run: Run) -> bool:
        """True if a uniform run one frame too long for a ramp, just ended, was a ramp and a flicker frame the
        same way at one end (the smaller end, within the light's jitter), judged without that frame."""
        if len(run) != MAX_RAMP + 1 or run[-1][0] != index - 1:
            return False
        jitter = self._light_jitter(run)
        ramp, flicker = (run[1:], run[0]) if abs(run[0][1]) < abs(run[-1][1]) else (run[:-1], run[-1])
        if math.isnan(jitter) or abs(flicker[1]) >= jitter or not self._judge(ramp, jitter):
            return False
        self._book.regain(ramp[-1][0] + 1, index)
        return True

    def _settled(self, index: int, run: Run) -> bool:
        """True if a uniform run too long for a quick ramp, just ended, was an auto exposure settling slowly:
        a change it would make (exposure.against_drift), over no more frames than a glint may last."""
        if not (MAX_RAMP < len(run) <= GLINT_FRAMES and run[-1][0] == index - 1):
            return False
        jitter, moving = self._light_jitter(run), exposure.against_drift(self._book.raw, run[0][0], run[0][1])
        return moving and not math.isnan(jitter) and self._judge(run, jitter)

    def _light_jitter(self, ramp: Run) -> float:
        """3.5 robust standard deviations of the frame-to-frame log-ratios (nan while under 5): the light by
        itself (flicker does not add up over frames: a run of its log-ratios telescopes to two frames'
        factors). Not the camera's steps, glints or this run (a ramp on the first frames hid a glint)."""
        moved = self._exposure | self._glint | {i for i, _ in ramp}
        return 3.5 * robust_std([r for i, r in self._jitter if i not in moved], minimum=5, short=math.nan)

    def _close_ramp(self) -> bool:
        ramp, self._ramp = self._ramp, []
        jitter = self._light_jitter(ramp)
        if self._early or (math.isnan(jitter) and abs(sum(r for _, r in ramp)) >= MIN_STEP):
            # Too early to tell the camera from the light: under +-6 % flicker two frames rose 9 % on a run's
            # third frame, and that "step" bent the heating (seed 9004 lost melting_start). Judged once known.
            self._early.append(ramp)
            return False
        return self._judge(ramp, jitter)

    def _judge(self, ramp: Run, jitter: float, early: bool = False) -> bool:
        total = sum(r for _, r in ramp)
        net = exposure.beyond_trend(total, self._scene_trend() * len(ramp))
        if net < max(MIN_STEP, jitter) or self._ends_excursion(ramp[0][0], ramp[-1][0], jitter):
            return False
        if early and not exposure.held(self._book.raw, ramp):  # judged late: the frames since came back
            return False
        verdict = exposure.camera_made(self._steps, self._book.raw, ramp[0][0], ramp[-1][0], total)
        if verdict.undoes is not None:
            self._drop(verdict.undoes, ramp, only_its_return=not verdict.step)
        return verdict.step and self._register(verdict.first, ramp[-1][0], provisional=verdict.provisional)

    def _drop(self, undone: Step, ramp: Run, only_its_return: bool) -> None:
        """A `ramp` undid a provisional step and those since (their gain goes). If only its return (no step
        after), the frames before it were a glint's, the levels since revised; it begins no excursion."""
        s, last = self._unwind(self._steps.index(undone), ramp[-1][0] + 1), ramp[-1][0]
        if only_its_return:
            self._glint_over(s.index, last)
            self._book.regain(last, len(self._book.raw) - 1)
            self._returns.update(i for i, _ in ramp)

    def _unwind(self, k: int, end: int) -> Step:
        """Steps k on were no camera's: their gain and exposure flags (to frame `end`) go. Returns step k."""
        s = self._steps[k]
        self._book.shift(-sum(undone.log_ratio for undone in self._steps[k:]))
        self._exposure.difference_update(range(s.index, end))
        del self._steps[k:]
        return s

    def _judge_early(self, index: int) -> None:
        """Early ramps, in order, judged against the light's jitter once it is known, if the frames since
        stand where they took the mean (exposure.held); a camera's: the frames since carry its gain."""
        while self._early and not math.isnan(jitter := self._light_jitter(self._early[0])):
            ramp = self._early.pop(0)
            if self._judge(ramp, jitter, early=True):
                self._book.regain(ramp[-1][0] + 1, index)

    def _ends_excursion(self, first: int, last: int, jitter: float) -> bool:
        """Frames first..last are a glint's return whose rise was not registered (excursion.unstepped_jump):
        its frames are the glint's, and the gain stays. A glint's return begins no excursion of its own."""
        jumps = self._uniform - self._exposure - self._returns
        k = unstepped_jump(self._book.raw, first, last, jitter, jumps)
        if k is not None:
            # Back to frames judged a glint's: the scene's after all (a recording begun in a glint).
            scene = next(j for j in range(k - 1, -2, -1) if j not in self._glint) + 1
            self._glint.difference_update(range(scene, k))
            self._book.regain(scene, k)
            self._glint_over(k, last)
        return k is not None

    def _register(self, first: int, last: int, provisional: bool = False) -> bool:
        """A step over frames first..last, divided out of the level from now on (a provisional one until it
        has had time to come back: _expire)."""
        before, after = self._book.raw[first - 1] if first else 0.0, self._book.raw[last]
        if first == 0 or before <= 0 or after <= 0:
            return False
        # The factor of the mean, not of the pixels: clipped pixels do not scale. Less the scene's own
        # trend over those frames, so the level carries on from the frame before as the scene did.
        trend = self._scene_trend()
        log_ratio = math.log(after / before) - trend * (last - first + 1)
        self._steps.append(Step(first, last, log_ratio, before, after, provisional, trend))
        self._book.shift(log_ratio)
        self._exposure.update(range(first, last + 1))
        self._bridge(first, last)
        return True

    def _remeasure(self, index: int) -> None:
        """The last step, SETTLE frames on and nothing moving since, measured again (exposure.remeasured)."""
        s = self._steps[-1] if self._steps and not (self._ramp or self._long_run or self._early) else None
        if s is None or s.provisional or index != s.last + exposure.SETTLE:
            return
        moved = self._uniform | self._exposure | self._glint
        if (trend := exposure.remeasured(self._book.raw, s, moved, self._light_jitter([]))) is None:
            return
        log_ratio = math.log(s.level_after / s.level_before) - trend * (s.last - s.index + 1)
        self._book.shift(log_ratio - s.log_ratio)
        s.log_ratio, s.trend = log_ratio, trend
        self._book.bridge(s.index, s.last, trend)
        self._book.regain(s.last + 1, index)

    def _undo_excursion(self, index: int) -> bool:
        """A recent step whose level this frame returns to, sharply, is a glint (excursion.returns_to): its
        frames are not the scene, and the gain goes back to before it. True if this frame is such a return."""
        k = returns_to(self._steps, self._book.raw, index)
        if k is None:
            return False
        s = self._unwind(k, index)  # the excursion began at this step: every step since belongs to it
        self._glint_over(s.index, index)
        self._returns.add(index)
        return True

    def flags(self, index: int) -> tuple[Flag, ...]:
        """Hindsight: a glint or an exposure step flag for frame `index` (0-based), else nothing."""
        for kind, frames in ((FlagKind.GLINT, self._glint), (FlagKind.EXPOSURE_STEP, self._exposure)):
            if index in frames:
                return (Flag(kind),)
        return ()
