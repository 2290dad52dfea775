"""What the camera did between two frames, told apart from what the sample did.

A camera's auto exposure (or gain) multiplies every unsaturated pixel by one factor; a glint is a short
excursion that comes back within a few frames. The sample changes only part of the picture, and its colour
(the glow's channels move by different factors). So:
- on frames, a photometric step is a large log-ratio between consecutive frames that is the same for every
  channel and nearly every unsaturated pixel (`measure_step`);
- on a table of channel means there are no pixels: an upward jump of every unclipped channel within a frame
  while 1# is falling is the camera, since a cooling sample only dims (`table_step`).
`CameraTracker` turns those per-frame measurements into the run's gain (the product of the steps), a
gain-compensated brightness, and in hindsight recognises glints: a step that is undone within
`GLINT_FRAMES` frames is an excursion, and neither of its edges changes the gain.
"""

import math
from dataclasses import dataclass, field

import numpy as np

# A glint lasts at most this many frames (the real run's lasts 3: 355-357 s).
GLINT_FRAMES = 4
# Pixels darker or brighter than this are clipped or drowned in noise: their ratio says nothing.
_DARK, _BRIGHT = 12.0, 243.0
# A step: the frame-to-frame log-ratio exceeds this (about 6 %), well above sensor noise and slow dimming.
MIN_STEP = 0.06
# The channels' log-ratios agree within this share of the step: the glow's colour shifts do not.
_CHANNEL_AGREEMENT = 0.35
# This share of unsaturated pixels moves with the median ratio (within half the step): global, not local.
_PIXEL_AGREEMENT = 0.6


@dataclass(frozen=True, slots=True)
class StepMeasure:
    """The photometric change from the previous frame: log of the common factor and whether it is one."""

    log_ratio: float  # median log(current / previous) over unsaturated pixels (0 = no change)
    uniform: bool  # every channel and most pixels moved by that factor: the camera, not the scene
    channels: tuple[float, ...]  # per-channel median log-ratios (nan where a channel had too few pixels)
    pixel_share: float  # share of unsaturated pixels within half the step of the median
    is_step: bool  # uniform and large enough to be the camera's gain changing


NO_STEP = StepMeasure(log_ratio=0.0, uniform=False, channels=(), pixel_share=math.nan, is_step=False)


def measure_step(previous: np.ndarray, current: np.ndarray) -> StepMeasure:
    """Compare two downscaled BGR frames (float32, same shape) pixel by pixel on their unsaturated values."""
    valid = (previous > _DARK) & (previous < _BRIGHT) & (current > _DARK) & (current < _BRIGHT)
    if valid.sum() < 64:
        return NO_STEP
    logs = np.log(current, where=valid, out=np.zeros_like(current)) - np.log(
        previous, where=valid, out=np.zeros_like(previous)
    )
    overall = float(np.median(logs[valid]))
    channels = []
    for c in range(current.shape[-1]):
        v = valid[..., c]
        # A channel with few usable pixels (blue in a red-hot scene) cannot vote.
        channels.append(float(np.median(logs[..., c][v])) if v.mean() > 0.05 else math.nan)
    votes = [c for c in channels if not math.isnan(c)]
    tolerance = max(abs(overall) * 0.5, 0.01)
    pixel_share = float((np.abs(logs[valid] - overall) <= tolerance).mean())
    agree = len(votes) >= 2 and all(abs(c - overall) <= _CHANNEL_AGREEMENT * abs(overall) for c in votes)
    uniform = agree and pixel_share >= _PIXEL_AGREEMENT
    return StepMeasure(
        log_ratio=overall,
        uniform=uniform,
        channels=tuple(channels),
        pixel_share=pixel_share,
        is_step=uniform and abs(overall) >= MIN_STEP,
    )


def table_step(
    previous: tuple[float, float, float], current: tuple[float, float, float], *, cooling: bool, noise: float
) -> StepMeasure:
    """The same judgement on whole-frame channel means (B, G, R): an upward jump of every unclipped channel
    while the sample cools. Downward jumps are left to the detector: on means alone a clearing melt and a
    darker exposure look the same."""
    before, after = sum(previous) / 3.0, sum(current) / 3.0
    if before <= 0 or after <= 0:
        return NO_STEP
    log_ratio = math.log(after / before)
    # A channel near 0 or 255 is clipped and may not move; the others must all rise.
    moving = [a - b for a, b in zip(previous, current, strict=True) if 3.0 < b < 250.0]
    all_up = len(moving) >= 2 and all(d < 0 for d in moving)
    big = after - before > max(4.0 * noise, 3.0)
    return StepMeasure(
        log_ratio=log_ratio,
        uniform=all_up,
        channels=tuple(math.log(max(c, 0.5) / max(p, 0.5)) for p, c in zip(previous, current, strict=True)),
        pixel_share=math.nan,
        is_step=cooling and all_up and big,
    )


@dataclass(frozen=True, slots=True)
class CameraState:
    """The camera's part of one frame, as known when the frame was processed."""

    exposure_step: bool  # the gain changed into this frame
    gain: float  # the run's gain relative to its first frame (product of the steps so far)
    level: float  # the whole-frame mean divided by the gain: the brightness of the scene itself


@dataclass(slots=True)
class _Step:
    index: int
    log_ratio: float
    level_before: float  # raw mean of the frame before the step


@dataclass(slots=True)
class CameraTracker:
    """Per run: feed each frame's raw mean and step measurement; get its CameraState. `flags` says in
    hindsight which frames were exposure steps and which were glints."""

    _log_gain: float = 0.0
    _raw: list[float] = field(default_factory=list)
    _steps: list[_Step] = field(default_factory=list)  # steps not yet past the glint window
    _exposure: set[int] = field(default_factory=set)
    _glint: set[int] = field(default_factory=set)
    _trend: list[float] = field(default_factory=list)  # log-changes of the mean between frames without a step

    def observe(self, mean: float, step: StepMeasure) -> CameraState:
        index = len(self._raw)
        before = self._raw[-1] if self._raw else mean
        self._raw.append(mean)
        returned = self._undo_excursion(index, mean)
        usable = index > 0 and mean > 0 and before > 0
        if step.is_step and usable and not returned:
            # The factor of the mean, not of the pixels: clipped pixels do not scale. Less the scene's own
            # trend of the last frames, so the level carries on from the frame before as the scene did.
            trend = float(np.median(self._trend[-5:])) if self._trend else 0.0
            log_ratio = math.log(mean / before) - trend
            self._log_gain += log_ratio
            self._steps.append(_Step(index, log_ratio, before))
            self._exposure.add(index)
        elif usable and not returned:
            self._trend = [*self._trend[-4:], math.log(mean / before)]
        self._steps = [s for s in self._steps if index - s.index < GLINT_FRAMES]
        gain = math.exp(self._log_gain)
        return CameraState(exposure_step=index in self._exposure, gain=gain, level=mean / gain)

    def _undo_excursion(self, index: int, mean: float) -> bool:
        """A recent step whose level this frame returns to, sharply, is a glint: its frames are not the
        scene, and the gain goes back to what it was before it. True when this frame is such a return."""
        previous = self._raw[index - 1] if index else mean
        for k, s in enumerate(self._steps):
            jump = self._raw[s.index] - s.level_before
            back = abs(mean - s.level_before) <= 0.35 * abs(jump)
            # A sharp move against the step, not the slow drift that follows a real one.
            sharp = (mean - previous) * jump < 0 and abs(mean - previous) > 0.5 * abs(jump)
            if back and sharp:
                # The excursion began at this step: every step since belongs to it.
                for undone in self._steps[k:]:
                    self._log_gain -= undone.log_ratio
                    self._exposure.discard(undone.index)
                self._glint.update(range(s.index, index))
                del self._steps[k:]
                return True
        return False

    def flags(self, index: int) -> tuple[str, ...]:
        """Hindsight: 'exposure_step' or 'glint' for frame `index` (0-based), else nothing."""
        if index in self._glint:
            return ("glint",)
        if index in self._exposure:
            return ("exposure_step",)
        return ()
