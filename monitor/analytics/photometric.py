"""What changed between two frames, as the camera changes a picture: one factor for every unsaturated pixel
and every channel (a gain step, a glint), told apart from the sample's change (part of the picture, and
its colour). `measure_step` judges two frames pixel by pixel; `table_step` judges whole-frame channel means,
where only an upward jump of every channel while 1# falls is the camera, since a cooling sample only
dims. The run's gain is followed from these by camera.CameraTracker."""

import math
from collections import deque
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np

# Pixels darker or brighter than this are clipped or drowned in noise: their ratio says nothing.
_DARK, _BRIGHT = 12.0, 243.0
_RESOLVE = 1.0  # grey level: a change must move a channel's typical pixel by this for the channel to judge it
# A frame changes uniformly when its log-ratio is at least this (2 %) and the channels and pixels agree.
MIN_UNIFORM = 0.02
# The channels' log-ratios agree within this share of the step: the glow's colour shifts do not.
_CHANNEL_AGREEMENT = 0.35
# This share of unsaturated pixels moves with the median ratio (within half the step): global, not local.
_PIXEL_AGREEMENT = 0.6
_DRIFT_FRAMES, _DRIFT_MIN = 10, 3  # a channel's usual deviation: its median over 10 recent frames (from 3)
# The usual deviation is taken out only of a change as large as a whole camera step (exposure.MIN_STEP).
# A flash lighting the chamber (2.5 % a frame) repeats its own colour pattern, and is the scene; under +-6 %
# flicker frames move 4-7 % either way, and from 4 % on they agreed and joined a glint into a step (strong
# flicker, seed 8004: the heating events 7, 21 and 41 s early).
_DRIFTED_STEP = 0.08


@dataclass(frozen=True, slots=True)
class StepMeasure:
    """The photometric change from the previous frame: log of the common factor and whether it is one."""

    log_ratio: float  # median log(current / previous) over unsaturated pixels (0 = no change)
    uniform: bool  # a change of at least MIN_UNIFORM, by the same factor for every channel and most pixels
    channels: tuple[float, ...]  # per-channel median log-ratios (nan where a channel had too few pixels)
    pixel_share: float  # share of unsaturated pixels within half the step of the median
    # decided: is_step is the verdict (a table); else the tracker judges the run of frames (ramps, jitter).
    is_step: bool = False
    decided: bool = False


NO_STEP = StepMeasure(log_ratio=0.0, uniform=False, channels=(), pixel_share=math.nan)


@dataclass(slots=True)
class ColourDrift:
    """Per run: each channel's usual deviation from the common change of a frame lately. A scene that heats
    or cools shifts its colour steadily, and every frame of a camera's step carries that shift too: a dim
    camera's auto exposure ramping +10 % a frame while the glow reddened saw blue +6.5 % and red +12 %, and
    its fourth frame missed the channels' agreement (melting_start lost, seed 14002); a dark glint of -14 %
    had blue at -19 % (melting_start 4 s late, seed 14001). Taken out, the channels agree; a sudden change
    of the glow's colour still does not."""

    _recent: deque[tuple[float, ...]] = field(default_factory=lambda: deque(maxlen=_DRIFT_FRAMES))

    def usual(self) -> tuple[float, ...]:
        """Per channel, the median deviation over the recent frames (empty while under _DRIFT_MIN)."""
        if len(self._recent) < _DRIFT_MIN:
            return ()
        columns = np.array(self._recent, dtype=float).T
        return tuple(float(np.median(c[~np.isnan(c)])) if (~np.isnan(c)).any() else math.nan for c in columns)

    def add(self, step: StepMeasure) -> None:
        if len(step.channels) == 3:
            self._recent.append(tuple(c - step.log_ratio for c in step.channels))


def _agree(channels: Sequence[float], overall: float, usual: Sequence[float], heard: Sequence[bool]) -> bool:
    """Every channel that can vote (two at least; `heard`: bright enough) changes by the common factor, less
    its `usual` deviation."""
    votes = [c - u for c, u, h in zip(channels, usual, heard, strict=True) if h and not math.isnan(c + u)]
    return len(votes) >= 2 and all(abs(v - overall) <= _CHANNEL_AGREEMENT * abs(overall) for v in votes)


def measure_step(
    previous: np.ndarray, current: np.ndarray, usual: Sequence[float] = (), scene: np.ndarray | None = None
) -> StepMeasure:
    """Compare two downscaled BGR frames (float32, same shape) pixel by pixel on their unsaturated values;
    every other pixel of every other row is plenty for a median. `usual`: each channel's usual deviation
    from the common change lately (ColourDrift), taken out if the channels do not agree as they are.
    `scene`: False where the pixels are not the camera's (the recorder's burned-in overlay)."""
    previous, current = previous[::2, ::2], current[::2, ::2]
    valid = (previous > _DARK) & (previous < _BRIGHT) & (current > _DARK) & (current < _BRIGHT)
    if scene is not None:
        valid &= scene[::2, ::2, None]
    if valid.sum() < 64:
        return NO_STEP
    logs = np.log(np.maximum(current, 1.0)) - np.log(np.maximum(previous, 1.0))
    overall = float(np.median(logs[valid]))
    channels, heard = [], []
    judged = abs(overall) >= MIN_UNIFORM  # a smaller change is no step whatever the channels say
    for c in range(current.shape[-1]):
        v = valid[..., c]
        # A channel with few usable pixels (blue in a red-hot scene) cannot vote, nor one so dim that the
        # change moves its typical pixel by under a grey level (_RESOLVE): its median ratio rounds to whole
        # levels (blue, typically at 14, read +6.9 % for a +5 % gain step, and the step was not uniform).
        usable = v.mean() > 0.05
        channels.append(float(np.median(logs[..., c][v])) if usable else math.nan)
        typical = 0.0
        if usable and judged:  # a median per channel, paid only where the verdict can matter
            typical = float(np.median(previous[..., c][v] + current[..., c][v])) / 2.0
        heard.append(typical * abs(overall) >= _RESOLVE)
    tolerance = max(abs(overall) * 0.5, 0.01)
    pixel_share = float((np.abs(logs[valid] - overall) <= tolerance).mean())
    drifted = abs(overall) >= _DRIFTED_STEP and len(usual) == len(channels)
    agree = _agree(channels, overall, (0.0,) * len(channels), heard) or (
        drifted and _agree(channels, overall, usual, heard)
    )
    uniform = judged and agree and pixel_share >= _PIXEL_AGREEMENT
    return StepMeasure(
        log_ratio=overall,
        uniform=uniform,
        channels=tuple(channels),
        pixel_share=pixel_share,
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
        decided=True,
    )
