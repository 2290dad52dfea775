"""The end of crystal growth, found on the sample's texture.

The texture (analytics/features.py) is a mean of local variances over the sample box: an area average, so it
rises with the crystalline share. Growth has ended at frame i when i has covered LEVEL of the texture's rise
from the melt before crystallization_start to the plateau after it: the median of the PLATEAU frames from
i, which counts only when they are flat (their trend under _FLAT_RISE of the rise per frame: a sample still
growing, or a stall of growth followed by more growth, is not on its plateau). A smooth end works as well
as a sudden one, since it is the level that is judged, not a step.

LEVEL is above END_FRACTION, the crystalline share that ends growth: near the end the texture runs ahead
of the area. The last liquid lies in thin pockets, and a window that straddles a pocket's edge is textured
already. On runs with slow kinetics (Avrami n near 2, the last 5 % taking 15 s) the texture had covered
97 % of its rise with 92 % crystalline, 7-15 s early; the flatness limit is as tight as the plateau's own
drift allows for the same reason (a slow tail grows by 0.3 % of the rise per frame).

The plateau is read on the frames right after i, not on a later window, and its slow drift (crystals gain
contrast as they cool and dim) is not extrapolated back: a line through frames that are still growing
slowly takes the growth for drift, and a growth curve fitted through the plateau took the drift for growth.
"""

import math
from dataclasses import dataclass

import numpy as np

from monitor.analytics.stats import robust_std
from monitor.records import Evidence

END_FRACTION = 0.97  # the crystalline share that ends growth, as metallurgists (and our simulator) put it
LEVEL = 0.975  # the share of the texture's rise that marks it (the texture runs ahead near the end)
PLATEAU = 18  # frames from the end whose median is the plateau: the end is confirmed this many frames on
_FLAT_RISE = 0.0025  # the plateau's trend per frame, as a share of the rise, at most
_SMOOTH = 3  # the texture at a frame is the median of this many frames either side
_MELT_FRAMES = 30  # frames up to crystallization_start whose median is the melt's texture
_NOISE_MARGIN = 6.0  # the rise must exceed this many times the melt's frame-to-frame noise


@dataclass(frozen=True, slots=True)
class GrowthEnd:
    index: int  # the frame where growth ended
    confidence: float
    evidence: list[Evidence]


def find_growth_end(x: list[float], start: int, melt_from: int) -> GrowthEnd | str:
    """Whether growth ended PLATEAU frames before the last frame of the texture series x (start: the index
    of crystallization_start, melt_from: of fully_molten); the reason it has not otherwise. Asked once per
    frame, the first frame that qualifies is the end, and later frames never change it."""
    n = len(x)
    if all(math.isnan(v) for v in x[-PLATEAU:]):
        return "no texture signal of the sample"
    still = "the texture of the sample is still growing"
    i = n - PLATEAU  # the candidate: the frame with a whole plateau window after it
    melt = np.asarray(x[max(melt_from, start - _MELT_FRAMES) : start + 1], dtype=float)
    melt = melt[~np.isnan(melt)]
    if i - start < 10 or melt.size < 5:
        return still
    base = float(np.median(melt))
    noise = max(robust_std(np.diff(melt)) / math.sqrt(2.0), 1e-9)
    after = np.asarray(x[i:], dtype=float)
    plateau = float(np.nanmedian(after))
    rise = plateau - base
    threshold = _NOISE_MARGIN * noise
    if rise <= threshold:
        return f"the texture's growth ({rise:.3g}) is within its noise ({noise:.3g})"
    # Flat: the second half of the window sits within _FLAT_RISE of the rise per frame of the first (a
    # trend, not one frame).
    half = PLATEAU // 2
    trend = (float(np.nanmedian(after[half:])) - float(np.nanmedian(after[:half]))) / half
    if abs(trend) > _FLAT_RISE * rise:
        return still
    here = float(np.nanmedian(np.asarray(x[max(start, i - _SMOOTH) : i + _SMOOTH + 1], dtype=float)))
    reached = (here - base) / rise
    if reached < LEVEL:
        return still
    return GrowthEnd(
        i,
        float(np.clip(1.0 - 0.5 * threshold / rise, 0.0, 1.0)),
        [
            Evidence("texture rise", rise, threshold, f"melt {base:.4g}, plateau {plateau:.4g}"),
            Evidence("share of the rise", reached, LEVEL, f"plateau trend {trend:+.3g}/frame"),
        ],
    )
