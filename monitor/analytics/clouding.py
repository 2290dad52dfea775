"""The melt clouding at nucleation: a held step of the sample contrast (box over the rest of the frame, per
channel) beyond what the channel does by itself, and one that stays."""

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from monitor.analytics.signals import WINDOW, Series, Step, theil_sen

# A clouding step stands this far out of the channel's own held steps before it (Series.step_spread). On
# white noise that spread is about half the frame-to-frame noise, so 4x it is below clouding_step's 4x the
# noise; it bites on a dim channel wandering in held runs: green 1.9x its frame noise while cooling, and an
# up-step of 2.7x the spread 16 s before the clouding had passed for it (fixed exposure, seed 18003).
WANDER = 4.0
# A clouded melt does not clear while it cools: the contrast stays at least this share of its step away
# from the old level after the first `hold` frames too. A wobbling dim channel does not: green's +0.014 held
# for 5 frames, then returned to 8 % of it, 16 s before the nucleation (fixed exposure, fresh seed 25003).
KEPT = 0.5


def kept(later: Sequence[float], hold: int, old: float, size: float, slope: float, apart: float) -> float:
    """The share of a step, from the old level to the new one `size` away, that the `hold` frames after its
    hold (`later`, nan where not measured) keep; it must be KEPT. A drift away from the step that the
    channel had before it (`slope` per frame; the old and new medians `apart` frames apart) pulls the level
    back by itself (blue fell 0.011/frame either side of its jump at nucleation, narrow auto exposure, seed
    21004), so both are then measured from the old level's trend line. Too few frames yet: -inf; fewer than
    two measured (a long glint, the gain clipping the channel) cannot say it came back: inf."""
    x = np.asarray(later, dtype=float)
    measured = x[~np.isnan(x)]
    if x.size < hold or measured.size < 2:
        return math.inf if x.size >= hold else -math.inf
    against = slope if slope * size < 0 else 0.0
    back = float(np.median(measured)) - old - against * (apart + hold)
    return back / (size - against * apart)


@dataclass(frozen=True, slots=True)
class Clouding:
    """A held step of the sample contrast in one channel, beyond what that channel does by itself."""

    channel: int  # 0, 1, 2: B, G, R
    step: Step  # its size net of the channel's drift the same way
    threshold: float  # what it beat: the largest of 4x the frame noise, `wander` and 1 % of the level
    wander: float  # WANDER x the spread of the held steps the channel took before (Series.step_spread)
    kept: float  # the share of the step the frames after its hold keep (kept; inf: not measured)

    @property
    def margin(self) -> float:
        return abs(self.step.size) / self.threshold

    @property
    def note(self) -> str:
        stays = f", {self.kept:.2f} of it kept after its hold" if math.isfinite(self.kept) else ""
        return (
            f"noise {self.step.noise:.4f}/frame, held steps before {self.wander / WANDER:.4f} spread{stays}"
        )


def clouding_step(channels: Sequence[Series], i: int, *, start: int, hold: int) -> Clouding | None:
    """The strongest held step into frame i among the sample contrast's channels (B, G, R), beyond four
    times its noise, WANDER times the spread of its own held steps before (Series.step_spread) and 1 % of
    its level, and still KEPT over the `hold` frames after its hold (kept), so judged 2 x `hold` frames on.
    The step's size is net of the channel's own drift the same way: the medians either side of i lie
    frames apart, and a melt cooling for minutes drifts in colour (blue fell 0.0036/frame, and over the 7.5
    frames between the medians that passed for a step: crystallization_start 15 s early on an unseen
    programme, seed 12002)."""
    best: Clouding | None = None
    for c, series in enumerate(channels):
        step = series.step_at(i, start=start, hold=hold)
        if step is None:
            continue
        # step_at's frames before: measured from the first on, a glint's few unmeasured ones left out below.
        window = np.asarray(series.values[max(start, i - WINDOW) : i], dtype=float)
        old = float(np.nanmedian(window))
        level = abs(old)
        spread = WANDER * series.step_spread(i, start=start, hold=hold)
        threshold = max(4.0 * step.noise, spread, 0.01 * level)
        slope, apart = theil_sen(window), (hold - 1) / 2.0 + (window.size + 1) / 2.0  # between the medians
        share = kept(series.values[i + hold : i + 2 * hold], hold, old, step.size, slope, apart)
        if not share >= KEPT:
            continue
        net = abs(step.size) - max(slope * apart * np.sign(step.size), 0.0)
        found = Clouding(
            c, Step(step.index, math.copysign(net, step.size), step.noise), threshold, spread, share
        )
        if found.margin > 1.0 and (best is None or found.margin > best.margin):
            best = found
    return best
