"""Where a frame's mean stands against a jump of the mean before it: back where it was, or falling sharply
back. A glint is a jump that comes back; a camera step or the sample's change stays."""

import math
from collections.abc import Sequence

from monitor.analytics.exposure import GLINT_FRAMES, MAX_RAMP, MIN_STEP, Step


def is_back(mean: float, before: float, jump: float, slack: float = 0.0) -> bool:
    """The mean stands where it was before a `jump`, within 35 % of it (or within `slack`)."""
    return abs(mean - before) <= max(0.35 * abs(jump), slack)


def falls_back(
    mean: float, previous: float, before: float, jump: float, beyond: bool = False, slack: float = 0.0
) -> bool:
    """This frame's mean moves sharply back to `before`, undoing a `jump` (not a real step's slow drift): from
    the jump's side, or with `beyond` from either (a step the other way came next: up, down, then back)."""
    sharp = (mean - previous) * (jump if not beyond else previous - before) < 0
    return sharp and abs(mean - previous) > 0.5 * abs(jump) and is_back(mean, before, jump, slack)


def unstepped_jump(raw: Sequence[float], first: int, last: int, jitter: float, jumps: set[int]) -> int | None:
    """The frame k whose jump the frames first..last undo: they take the mean `raw` back to where it stood
    before a uniform jump the other way (k in `jumps`, not a registered step) up to GLINT_FRAMES frames
    earlier, one within the light's jitter and so no step itself; None if there is none. Back means within
    35 % of the jump, or within the light's `jitter` (a log-ratio) of where it began: under a flickering light
    the frames either side of a glint flicker too, and a mean that ends up no further from where it stood
    than the light jitters has taken no step."""
    after, top = raw[last], raw[first - 1]
    for k in range(first - 1, max(first - 1 - GLINT_FRAMES, 0), -1):
        # The excursion from frame k on, most of it k's uniform jump (a flicker frame's is no glint).
        origin = raw[k - 1]
        edge, excursion = raw[k] - origin, top - origin
        if (
            k in jumps
            and edge * excursion > 0.5 * excursion**2
            # Away from where it began all along: a glint that came back since is over, and what moved the
            # mean after it (the melt clearing) is not the glint's.
            and not any(is_back(raw[j], origin, excursion) for j in range(k, first))
            and falls_back(after, top, origin, excursion, slack=origin * math.expm1(jitter))
        ):
            return k
    return None


def flare_after(raw: Sequence[float], index: int, ratios: Sequence[float]) -> int | None:
    """How many of the last frames of a uniform run (log-`ratios`, ending the frame before `index`) were a
    glint that frame `index` falls sharply back from, after a ramp of at most MAX_RAMP frames; None if
    none. The glint stands out of the ramp: larger than MIN_STEP and than any ramp frame (the scene
    lighting up for long, then dimming, does not)."""
    mean, previous = raw[index], raw[index - 1]
    for g in range(1, min(GLINT_FRAMES, len(ratios) - 1) + 1):
        if len(ratios) - g > MAX_RAMP:
            continue
        before = raw[index - g - 1]
        flare = abs(math.log(max(previous, 1e-6) / max(before, 1e-6)))
        if flare >= max(MIN_STEP, *(abs(r) for r in ratios[:-g])) and falls_back(
            mean, previous, before, previous - before
        ):
            return g
    return None


def returns_to(steps: Sequence[Step], raw: Sequence[float], index: int) -> int | None:
    """The first of the recent `steps` whose level frame `index` of the raw means returns to, sharply,
    within GLINT_FRAMES frames of its last frame (a glint's return); None if none. Counted from the step's
    last frame: a flicker frame the same way may join a glint's rise."""
    mean = raw[index]
    previous = raw[index - 1] if index else mean
    for k, s in enumerate(steps):
        beyond = any(later.log_ratio * s.log_ratio < 0 for later in steps[k + 1 :])
        back = falls_back(mean, previous, s.level_before, s.level_after - s.level_before, beyond)
        if back and index - s.last <= GLINT_FRAMES:
            return k
    return None
