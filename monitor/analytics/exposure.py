"""How an auto exposure behaves, for telling its steps from the scene's and the light's.

An auto exposure works against the picture's drift: it raises the gain when the picture has got darker than
it usually is, and lowers it when brighter (the real run's four large steps up came when its mean had
fallen to 68-72, below its median over the minute before). A uniform brightening of a picture already
brighter than usual is then the scene (a melt flash lighting the chamber) or the light, not the camera:
under +-6 % flicker, two frames of a flash's climb rose uniformly by 15 % and were taken for the gain.
"""

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

# A step: uniform changes the same way over at most MAX_RAMP frames, adding up to at least MIN_STEP (8 %),
# well above sensor noise and slow dimming (and above the run's flicker: see camera.CameraTracker).
MIN_STEP = 0.08
MAX_RAMP = 4
# A glint lasts at most this many frames: the real run's last 3 (355-357 s) and 8 (300-307 s, in the hold).
GLINT_FRAMES = 8
AE_MEMORY = 60  # frames whose median raw mean is where the camera usually keeps the picture
_SETTLED = 10  # fewer frames than this do not tell it yet
_BEFORE = 5  # frames whose median is where the picture stood (a flicker frame can tip the last one alone)
SETTLE = 4  # frames after a step whose log-changes' median is the scene's trend after it (remeasured)


@dataclass(slots=True)
class Step:
    """A step the camera tracker registered, while it may still turn out to be a glint's edge."""

    index: int  # the first frame of the step
    last: int  # its last frame (a ramp's)
    log_ratio: float  # what it did to the mean (the level divides it out)
    level_before: float  # raw mean of the frame before the step
    level_after: float  # raw mean of its last frame
    # No auto exposure would have made it: divided out only while a glint's return may still come (a glint
    # must not pass for the scene meanwhile), then given back to the scene.
    provisional: bool = False
    trend: float = 0.0  # the scene's own log-change a frame taken for its frames when it was registered


@dataclass(frozen=True, slots=True)
class Verdict:
    """What a uniform change is: a step from `first` (provisional or not), after undoing `undoes` (a
    provisional step whose excursion it ends); or, when `step` is False, only that excursion's return."""

    first: int
    step: bool
    provisional: bool = False
    undoes: Step | None = None


def _stood(raw: Sequence[float], first: int) -> float:
    """Where the picture stood before frame `first`: the median of the _BEFORE raw means before it."""
    return float(np.median(raw[max(0, first - _BEFORE) : first]))


def against_drift(raw: Sequence[float], first: int, log_ratio: float) -> bool:
    """Whether a gain change by `log_ratio` into frame `first` of the raw means is one an auto exposure
    makes: up from a picture that stood no brighter than usual, down from one no darker. Where it stood is
    judged both on the last frame before and on the median of the _BEFORE before, and either will do."""
    if first < _SETTLED:
        return True
    usual = float(np.median(raw[max(0, first - AE_MEMORY) : first]))
    stood = (raw[first - 1], _stood(raw, first))
    return min(stood) <= usual if log_ratio > 0 else max(stood) >= usual


def held(raw: Sequence[float], ramp: Sequence[tuple[int, float]]) -> bool:
    """Whether the raw means since a ramp ((frame, log-ratio) in a row) still stand where it took them: their
    median moved from the median of the _BEFORE frames before it by at least half of the ramp's, the same
    way. A gain step stays; the light's flicker comes back. For ramps on a run's first frames, which wait for
    the light's jitter to be known: under +-6 % flicker a dark first frame made the next look 9 % brighter,
    and the frames after came back within 2 % (probe programme slow-cool-long, seed 12001)."""
    first, last, total = ramp[0][0], ramp[-1][0], sum(r for _, r in ramp)
    after = raw[last + 1 :]
    if not after:
        return True
    moved = math.log(max(float(np.median(after)), 1e-6) / max(_stood(raw, first), 1e-6))
    return moved * total > 0 and abs(moved) >= 0.5 * abs(total)


def beyond_trend(total: float, trend: float) -> float:
    """How far a uniform change by `total` (log) over some frames goes beyond the scene's own change over
    them (`trend`), if that goes the same way. A melt flash lights the whole chamber at its own pace: taken
    for a step, its climb made the auto exposure's step down at the flash's top a glint's return (narrow AE
    camera, seed 14000: melting_complete 4 s early)."""
    return max(abs(total) - abs(trend), 0.0) if trend * total > 0 else abs(total)


def camera_made(steps: Sequence[Step], raw: Sequence[float], first: int, last: int, total: float) -> Verdict:
    """What a uniform change by `total` (log) over frames first..last is, given the recent `steps`.
    - The reverse of a recent step of the camera is a glint's return or a correction: the camera's too.
    - The reverse of a provisional one is that excursion's return, unless it goes on beyond where the
      picture stood before it, by a step, the way an auto exposure would: then both are one step of the
      camera (a dark glint, then the gain ramping up).
    - Otherwise it is the camera's if an auto exposure would make it (against_drift), judged where its move
      began: at a step the same way just before (a ramp that one frame changing less evenly broke in two);
      else it is provisional."""
    began = first
    for s in reversed(steps):
        if s.log_ratio * total < 0:
            if not s.provisional:
                return Verdict(first, step=True)
            net = math.log(max(raw[last], 1e-6) / max(s.level_before, 1e-6))
            beyond = net * total > 0 and abs(net) >= MIN_STEP and against_drift(raw, s.index, net)
            return Verdict(s.index, step=beyond, undoes=s)
        if not s.provisional and first - s.last <= MAX_RAMP:
            began = s.index
    return Verdict(first, step=True, provisional=not against_drift(raw, began, total))


def remeasured(raw: Sequence[float], s: Step, moved: set[int], jitter: float) -> float | None:
    """The scene's own log-change a frame over step `s`'s frames, read SETTLE frames after it: midway between
    its trend before the step (s.trend) and after it (the median log-change of the SETTLE frames after). A
    melt flash lights the whole chamber, so neither the pixels nor the mean tell the camera's share of a
    frame in which both moved; the middle errs least either way. An auto exposure stepped on a melt's
    first three frames, and the heating's trend from before gave the flash's climb over them to the gain
    (gain and white balance: melting_start 3 s late). None (as it was) unless the frames after are measured
    and none of them `moved` (the camera or a glint), or if the change is within the light's `jitter` (nan on
    a table of means, whose frames have no jitter measured: never)."""
    frames = range(s.last, s.last + SETTLE + 1)
    if frames.stop > len(raw) or any(raw[j] <= 0 for j in frames) or moved.intersection(frames[1:]):
        return None
    after = float(np.median([math.log(raw[j] / raw[j - 1]) for j in frames[1:]]))
    trend = 0.5 * (s.trend + after)
    return trend if abs(trend - s.trend) * (s.last - s.index + 1) > jitter else None
