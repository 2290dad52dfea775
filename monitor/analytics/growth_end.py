"""The end of crystal growth, found on the sample's texture.

The texture (analytics/features.py) is a mean of local variances over the sample box: an area average, so it
rises with the crystalline share. Growth has ended at frame i when i has covered LEVEL of the texture's rise
from the melt before crystallization_start to the plateau after it: the median of the PLATEAU frames from
i, which counts only when they are flat (rising under _FLAT_RISE of the rise per frame: a sample still
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

On frames the end is judged pixel by pixel (SamplePixels), where the texture's level only gates it: one
mean over the sample cannot follow the area near the end, since where the last liquid lies decides how far
the texture runs ahead of the area or lags it (grain boundaries, the last to form, are the most
contrasted). A pixel of the sample has crystallized once its contrast has covered FRONT of its rise to the
plateau after i, and growth has ended when SHARE of the pixels that rose have. SHARE is above END_FRACTION
because a pocket smaller than a 5x5 window is counted by the windows around it: with each pixel's final
level known, 98.9-99.4 % of the pixels had covered half their rise at the true 97 % on two slow runs (seed
1003, smooth end and everything at once). On the 148 stored sweep runs (seeds 0-4, 1000-1004, 2000-2004)
the pixels put 144 ends within 5 s, the texture's level 139 (-5..+4 s, 5th-95th percentile); the runs
with slow tails, 7-12 s early by the level, were what it was built for.

FRONT was 0.3 (144 of the 148 within 5 s, but -3.7..0 s: early) until a fresh set (seeds 6000-6004, 48
runs, simulated after it was chosen) put 4 ends 6-15 s early, on seed 6004 sharp cameras among them: slow
kinetics (Avrami n 2.1) leave the share of crossed pixels within a hair of SHARE for 10 s and more, and
the front decides on which side. No front suits every camera on the 148 (smooth ends on a sharp camera:
15 of 15 at 0.3, 13 at 0.35-0.4; a soft, noisy lens: 14 at 0.3, 15 at 0.35-0.6); 0.35 puts 144 of them
within 5 s (-2..+2.3 s) and 47 of the 48.

The pixels judge only a sample that has stopped growing (stop 37). Each pixel is judged against its own
plateau right after i, so a pixel that rises smoothly to the end is "crossed" all along: one beside the last
liquid, where a soft lens, a 640x480 frame or a small sample mixes its window with the freezing pockets.
With a slow tail (n 1.8-2) the crossed share then sat at 96-99 % for 20 s while a tenth of the area was
liquid, and noise tipped it over SHARE 14-21 s early (probe cameras, seeds 15000-15004: 5 of 70 runs). The
growth is seen on the same pixels: their mean over the plateau, each capped at the _CAP quantile of the
risen pixels' rises, must be flat within _FLAT_RISE of its level per frame, as the texture must be for the
level. Capped, because the most contrasted pixels (grain boundaries, the last to form) would make the mean
lag the area as the texture does: uncapped, the end of a run whose last tenth is 3x as contrasted came
14-19 frames late. Replayed on the stored pixels of 91 runs (seeds 15000-15004 through the fourteen probe
cameras, seeds 8000-8004 through three sweep cameras, six synthetic runs): 81 -> 87 within 5 s; a smooth
slow tail whose growth stayed above the limit until the recording stopped is now not found (one run, -1 s
before), where two other smooth slow tails moved from 7 and 20 s early to 5 s late.

An end is confirmed once STREAK frames in a row judged growth ended (GrowthEndSearch), dated at the first:
each later frame's plateau counts pixels that rose late, and on a slow tail the share crossed went over
SHARE for two frames and fell back (seed 19004: 0.9915 at 587 s, 0.984 at 592-596 s, the end at 599 s;
7 of 10 cameras 12-16 s early). A plateau that falls up to _FLAT_FALL is flat: growth does not lower the
texture, crystals that cool and dim do (a 320x240 frame's, -0.3..-0.5 % a frame after the end, broke the
streak). Replayed on the stored candidates of 170 runs (seeds 19000-19004 and 20000-20004 through the ten
sweep cameras, 21000-21004 through fifteen probes): 163 -> 166 within 5 s (a streak of 2: 165, of 4: 164;
a longer streak loses ends on recordings that stop soon after them, the last candidate being PLATEAU frames
before the last frame). On fresh runs it has not paid: seeds 22000-22004 (50 runs) 49 -> 48, 23000-23004
through the sixteen probes 76 -> 75, each lost to a recording that stops 25 s after the end (the sweep's).
Replayed at stop 45 on 310 runs (docs/growth_end_replay.py; 19000-19004 among them): streaks of 1-4 put
294, 295, 296 and 292 within the targets. Confirming frames were not let off with a share just under SHARE:
19004's early end fell back to 0.9889, vga's true one (seed 23001) swung to 0.9883 (docs/analytics.md).
"""

import math
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from monitor.analytics.stats import robust_std
from monitor.records import Evidence

END_FRACTION = 0.97  # the crystalline share that ends growth, as metallurgists (and our simulator) put it
LEVEL = 0.975  # the share of the texture's rise that marks it (the texture runs ahead near the end)
PLATEAU = 18  # frames from the end whose median is the plateau: the end is confirmed this many frames on
_FLAT_RISE = 0.0025  # the plateau's trend per frame, as a share of its level, at most
_FLAT_FALL = 2 * _FLAT_RISE  # and its fall: crystals dim as they cool (growth never lowers the texture)
_CAP = 0.75  # a pixel's contrast counts up to this quantile of the risen pixels' rises (flatness on pixels)
_SMOOTH = 3  # the texture at a frame is the median of this many frames either side
_MELT_FRAMES = 30  # frames up to crystallization_start whose median is the melt's texture
_NOISE_MARGIN = 6.0  # the rise must exceed this many times the melt's frame-to-frame noise
FRONT = 0.35  # a pixel has crystallized once its contrast covered this share of its rise
SHARE = 0.99  # the share of the risen pixels crystallized that ends growth
_PIXEL_SMOOTH = 2  # a pixel's contrast at a frame: the median of this many frames either side
_KEEP = 90  # frames of pixels kept until crystallization_start is known (it is confirmed a few frames late)
# Judged on pixels only once this share of the sample's pixels rose: crystals cover the sample (at the end,
# 51-73 % of the powder mask's pixels had risen in the sweep's runs; the rest is the mask's grown rim and
# pixels of little texture). Growth within the noise, a few wire pixels darkening, is left to the level.
_RISEN = 0.25
STREAK = 3  # frames in a row that must judge growth ended (GrowthEndSearch)
MAX_PIXELS = 10_000  # a larger sample is sampled evenly: a share needs no more
# The last 1 - SHARE of the sample is told apart only where it spans a 5x5 window (of the halved grid): on a
# smaller sample the windows around the last pockets see them crystallized early, and the level judges. A
# 320x240 frame (its sample 1170 pixels) ended 12-38 s early on 4 of 5 runs by pixels, within 1 s by level.
MIN_PIXELS = round(25 / (1.0 - SHARE))
STILL_GROWING = "the texture of the sample is still growing"  # the reason while growth has not ended


@dataclass(frozen=True, slots=True)
class PixelJudgement:
    share: float  # of the pixels that rose, the share crystallized at the candidate frame
    risen: int  # how many rose
    trend: float  # the capped area's growth per frame over the plateau, as a share of it (flat_trend)


@dataclass(frozen=True, slots=True)
class GrowthEnd:
    index: int  # the frame where growth ended
    confidence: float
    evidence: list[Evidence]


@dataclass(frozen=True, slots=True)
class Plateau:
    """The sample's pixels over a candidate's plateau window (frames x pixels) against the melt."""

    window: np.ndarray
    base: np.ndarray  # each pixel's melt level
    rise: np.ndarray  # each pixel's median over the window, less its melt level
    risen: np.ndarray  # the pixels whose rise is beyond their noise

    def capped(self) -> np.ndarray:
        """Each pixel's contrast over the melt, capped at the _CAP quantile of the risen pixels' rises."""
        return np.minimum(self.window - self.base, float(np.quantile(self.rise[self.risen], _CAP)))


class SamplePixels:
    """The squared local contrast of each of the sample's pixels (FeatureExtractor.sample_pixels), frame by
    frame (indexed like the detector's series): the last _KEEP frames until the search for the end starts,
    then every frame from _MELT_FRAMES before crystallization_start on."""

    def __init__(self) -> None:
        self._reset()

    def _reset(self) -> None:
        self._maps: dict[int, np.ndarray] = {}
        self._keep_from: int | None = None
        self._melt: tuple[int, np.ndarray, np.ndarray] | None = None  # start, each pixel's melt level, noise
        self._highest: np.ndarray | None = None  # each pixel's highest smoothed contrast from start on
        self._upto = -1  # the last frame in _highest

    def add(self, index: int, pixels: np.ndarray | None) -> None:
        """A frame's pixels (None: not measured). Pixels of another size (a new sample box) start afresh."""
        if pixels is None:
            return
        if pixels.size > MAX_PIXELS:
            pixels = pixels[:: math.ceil(pixels.size / MAX_PIXELS)]
        # The kept maps all have one shape (a new one resets them): the first stands for all.
        if self._maps and next(iter(self._maps.values())).shape != pixels.shape:
            self._reset()
        self._maps[index] = pixels.astype(np.float16)
        if self._keep_from is None:
            self._maps.pop(index - _KEEP, None)

    def crystallized(self, start: int, melt_from: int, i: int, n: int) -> PixelJudgement | None:
        """How far the pixels risen by the plateau (frames i..n-1) had crystallized at frame i, and how the
        sample still grew over it; None when frames lack pixels, the sample is under MIN_PIXELS or too few
        rose to judge. From the first call on, every frame from _MELT_FRAMES before start is kept."""
        self._keep_from = max(melt_from, start - _MELT_FRAMES)
        if not all(j in self._maps for j in range(self._keep_from, n)) or self._maps[i].size < MIN_PIXELS:
            return None
        if self._melt is None or self._melt[0] != start:
            melt = np.stack([self._maps[j] for j in range(self._keep_from, start + 1)]).astype(np.float32)
            steps = np.diff(melt, axis=0)
            noise = 1.4826 * np.median(np.abs(steps - np.median(steps, axis=0)), axis=0) / math.sqrt(2.0)
            self._melt, self._highest, self._upto = (start, np.median(melt, axis=0), noise), None, start - 1
        for j in range(self._upto + 1, i + 1):
            near = range(max(j - _PIXEL_SMOOTH, self._keep_from), min(j + _PIXEL_SMOOTH + 1, n))
            smooth = np.median(np.stack([self._maps[k] for k in near]).astype(np.float32), axis=0)
            self._highest = smooth if self._highest is None else np.maximum(self._highest, smooth)
        self._upto = max(self._upto, i)
        plateau = self.plateau(i, n)
        if self._highest is None or plateau.risen.mean() < _RISEN:
            return None
        # The sample's growth over the plateau, each pixel's contrast capped at what most crystallized pixels
        # reach: an area, as the texture is, in which the most contrasted pixels (grain boundaries) weigh no
        # more than the rest. Over every pixel, not only the risen ones or those within their outline: a pixel
        # still liquid in the plateau's first half rises in its second, too late to count as risen, and the
        # last liquid lies at the rim (the risen ones alone put seed 19004's slow tail 13-14 s early on five
        # more cameras, stop 46).
        grown = plateau.capped().mean(axis=1)
        return PixelJudgement(self.crossed(plateau, FRONT), int(plateau.risen.sum()), flat_trend(grown))

    def crossed(self, plateau: Plateau, front: float) -> float:
        """The share of the plateau's risen pixels whose contrast had covered `front` of their rise by its
        first frame (the last crystallized() was asked for)."""
        assert self._highest is not None
        risen = plateau.risen
        return float((self._highest[risen] >= (plateau.base + front * plateau.rise)[risen]).mean())

    def plateau(self, i: int, n: int) -> Plateau:
        """Frames i..n-1 against the melt (after crystallized() has fixed the melt for this start)."""
        assert self._melt is not None
        _, base, noise = self._melt
        window = np.stack([self._maps[j] for j in range(i, n)]).astype(np.float32)
        rise = np.median(window, axis=0) - base
        return Plateau(window, base, rise, rise > _NOISE_MARGIN * np.maximum(noise, 1e-12))


def flat_trend(level: np.ndarray) -> float:
    """The plateau window's trend per frame as a share of its level: its second half's median less its
    first half's, over half the window (a trend, not one frame)."""
    half = level.size // 2
    drift = (float(np.nanmedian(level[half:])) - float(np.nanmedian(level[:half]))) / half
    return drift / max(float(np.nanmedian(level)), 1e-12)


def find_growth_end(
    x: list[float], start: int, melt_from: int, pixels: SamplePixels | None = None
) -> GrowthEnd | str:
    """Whether growth ended PLATEAU frames before the last frame of the texture series x (start: the index
    of crystallization_start, melt_from: of fully_molten); the reason it has not otherwise. Asked once per
    frame, the first frame that qualifies is the end, and later frames never change it. With the sample's
    pixels it is judged on them, else on the texture's level."""
    n = len(x)
    if all(math.isnan(v) for v in x[-PLATEAU:]):
        return "no texture signal of the sample"
    still = STILL_GROWING
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
    # Asked first: from its first call on the pixels keep every frame they will need.
    judged = None if pixels is None else pixels.crystallized(start, melt_from, i, n)
    # Growth has ended only once the sample stopped growing: on pixels, their capped area; else the texture.
    trend = judged.trend if judged is not None else flat_trend(after - base)
    if not -_FLAT_FALL <= trend <= _FLAT_RISE:
        return still
    if judged is not None:
        if judged.share < SHARE:
            return still
        evidence = Evidence(
            "crystallized share of the sample's pixels",
            judged.share,
            SHARE,
            f"{judged.risen} rose; growth {trend:+.3g}/frame",
        )
    else:
        here = float(np.nanmedian(np.asarray(x[max(start, i - _SMOOTH) : i + _SMOOTH + 1], dtype=float)))
        reached = (here - base) / rise
        if reached < LEVEL:
            return still
        evidence = Evidence("share of the rise", reached, LEVEL, f"growth {trend:+.3g}/frame")
    return GrowthEnd(
        i,
        float(np.clip(1.0 - 0.5 * threshold / rise, 0.0, 1.0)),
        [Evidence("texture rise", rise, threshold, f"melt {base:.4g}, plateau {plateau:.4g}"), evidence],
    )


class GrowthEndSearch:
    """find_growth_end asked once per frame, an end confirmed once STREAK frames in a row judged growth
    ended, and dated at the first of them. Each later frame's plateau brings pixels that rose late into the
    count: a share that falls back below SHARE with them had been reached early."""

    def __init__(self) -> None:
        self._pixels = SamplePixels()
        self._first: GrowthEnd | None = None  # the streak's first judgement
        self._streak = 0

    def add_pixels(self, index: int, pixels: np.ndarray | None) -> None:
        """Frame `index`'s sample pixels (SamplePixels.add)."""
        self._pixels.add(index, pixels)

    def judge(
        self, x: list[float], start: int, melt_from: int, time_s: Callable[[int], float]
    ) -> GrowthEnd | str:
        """find_growth_end on the texture so far; the reason while there is no confirmed end, which names
        a pending end by its time (`time_s` of a frame index)."""
        found = find_growth_end(x, start, melt_from, self._pixels)
        if isinstance(found, str):
            self._first, self._streak = None, 0
            return found
        self._first = self._first or found
        self._streak += 1
        if self._streak < STREAK:
            at = time_s(self._first.index)
            return f"growth seems ended at {at:g} s: {self._streak} of {STREAK} frames in a row agree so far"
        return self._first
