"""Signals of one run for the stage detector: a series with its held, sharp steps; robust slopes; how an
event's confidence follows its margin over the threshold."""

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from monitor.analytics.exposure import GLINT_FRAMES
from monitor.analytics.stats import robust_std
from monitor.records import Evidence

HOLD = 5  # frames a new level must hold (longer than a glint) before a step counts
WINDOW = 10  # frames before a candidate whose median is the old level (a glint is under half of it)
NOISE_FRAMES = 60  # the noise of a signal is measured over this many recent frames
SHARP_FRAMES = 2  # a step happens within this many frames
# The clearing is a held drop beyond both of these. DROP_NOISE: it is two medians apart (HOLD frames after,
# up to WINDOW before), whose difference varies by about half the frame-to-frame noise s (Step.noise), so
# 3 s is six standard deviations; at 4 s the clearing under +-6 % flicker (a 20-25 % drop) fell short on 4
# of 98 noisy probe runs. CLEARING: what is significant is not yet the clearing. The melt settling after
# the flash's collapse takes real held steps of up to 12 % of the collapse (at 3 s one of 11 % was taken
# for the clearing 31 s early on fresh seed 14002); the clearing was 18-50 % of it on 173 stored runs
# (18 %: everything at once, seed 8001) and 46 % on the real run.
DROP_NOISE = 3.0
CLEARING = 0.15
# A melt flash climbs by at least this share of the level a frame: the real run's 1.2-5.6/frame at 104-173,
# the simulator's 2-3 %. Heating climbs under 0.5 %, and the settling after the flash's collapse, which a
# recording begun after it shows first, rose 0.4-0.8 % (the real run from 175 s).
FLASH_CLIMB = 0.01


def confidence(margin: float) -> float:
    """0.5 at the threshold, rising towards 1 as the evidence exceeds it."""
    return float(np.clip(1.0 - 0.5 / margin, 0.0, 1.0)) if margin > 0 else 0.0


@dataclass(slots=True)
class Step:
    index: int  # the first frame at the new level
    size: float  # median after - median before
    noise: float  # frame-to-frame noise of the signal before it


class Series:
    """One signal of the run (nan where it was not measured)."""

    def __init__(self) -> None:
        self.values: list[float] = []

    def append(self, value: float) -> None:
        self.values.append(value)

    def step_at(self, i: int, *, start: int, hold: int = HOLD) -> Step | None:
        """The step into frame i: the median of the `hold` frames from i against the median of up to WINDOW
        frames before (not before `start`); None if the new level does not hold or the data are short. The
        frames before must have a level: a signal that has only just come out of clipping (a dim channel as
        the camera raises its gain) has none to step from yet. A few frames unmeasured (a glint or an exposure
        step clipping the channel) leave the level it had known, among those frames or at their head:
        counting them as no level had lost a clean 5 % step of the sample's red at nucleation, two glint
        frames among the ten before (heavy blur, seed 15004), and with three at their head (a glint, then the
        gain stepping up) the red's 7 % step was passed over for the blue's drift 6 s later (offset-far and
        mid-melt start, fresh seed 23001)."""
        x = self.values
        first = max(start, i - WINDOW)
        before = np.asarray(x[first:i], dtype=float)
        after = np.asarray(x[i : i + hold], dtype=float)
        measured = before[~np.isnan(before)]
        short = measured.size < HOLD or after.size < hold
        if short or np.isnan(after).any() or not self._level_at(first, start):
            return None
        old, new = float(np.median(measured)), float(np.median(after))
        size = new - old
        # Held: the frames after stay together at the new level (a glint's do not, nor does a slope).
        if np.ptp(after) >= 0.6 * abs(size):
            return None
        # Sharp: frame i is already most of the way there, and got there within SHARP_FRAMES frames (a
        # slope that builds up over ten frames is not a transition).
        if abs(x[i] - old) < 0.6 * abs(size) or abs(x[i] - x[max(i - SHARP_FRAMES, 0)]) < 0.7 * abs(size):
            return None
        return Step(i, size, self.noise_before(i, start=start))

    def _level_at(self, first: int, start: int) -> bool:
        """Whether the signal had a level at frame `first`: measured there, or in a gap of at most
        GLINT_FRAMES unmeasured frames with a measured one on either side, the one before
        not before `start`."""
        x = self.values
        if not math.isnan(x[first]):
            return True
        lo = max(start, first - GLINT_FRAMES)
        earlier = np.flatnonzero(~np.isnan(np.asarray(x[lo:first], dtype=float)))
        later = np.flatnonzero(~np.isnan(np.asarray(x[first + 1 : first + 1 + GLINT_FRAMES], dtype=float)))
        if not earlier.size or not later.size:
            return False
        return (first + 1 + int(later[0])) - (lo + int(earlier[-1]) + 1) <= GLINT_FRAMES

    def step_spread(self, i: int, *, start: int, hold: int) -> float:
        """How far step_at's statistic (the median of `hold` frames less the median of WINDOW before) strays
        at the NOISE_FRAMES frames before i (not before `start`): a robust standard deviation, 0 when too few
        frames are measured. Frame-to-frame noise misses a level that wanders in runs held for a few frames
        (a dim channel a few grey levels deep); such a channel takes "held steps" of its own."""
        x = np.asarray(self.values[max(start, i - NOISE_FRAMES - WINDOW - hold) : i], dtype=float)
        count = x.size - WINDOW - hold + 1
        if count < HOLD:
            return 0.0
        windows = np.lib.stride_tricks.sliding_window_view
        after = np.median(windows(x[WINDOW:], hold), axis=1)  # nan where a frame is not measured
        before = np.median(windows(x, WINDOW)[:count], axis=1)
        return robust_std(after - before, minimum=HOLD, short=0.0)

    def noise_before(self, i: int, *, start: int = 0) -> float:
        """The frame-to-frame noise over up to NOISE_FRAMES frames before i (not before `start`); inf when
        there are too few."""
        return robust_std(np.diff(np.asarray(self.values[max(start, i - NOISE_FRAMES) : i], dtype=float)))


def knee(times: Sequence[float], values: Sequence[float]) -> int:
    """Where a climb begins in the values at those times (ending in the climb): the first frame after the
    hinge of the two-line fit (the level's own trend, then the climb) with the least squared error.
    Unmeasured (nan) values are left out of the fit."""
    t, y = np.asarray(times, dtype=float), np.asarray(values, dtype=float)
    kept = np.flatnonzero(~np.isnan(y))
    t, y = t[kept], y[kept]
    errors = []
    for j in range(1, y.size - 1):
        design = np.column_stack([np.ones_like(t), t - t[0], np.maximum(t - t[j], 0.0)])
        coef = np.linalg.lstsq(design, y, rcond=None)[0]
        errors.append(float(((design @ coef - y) ** 2).sum()))
    return int(kept[int(np.argmin(errors)) + 2]) if errors else len(values) - 1


def theil_sen(y: np.ndarray) -> float:
    """The median of the slopes between every pair of points: one or two wild frames do not tip it.
    Unmeasured (nan) points are left out, the others keep their places."""
    at = np.flatnonzero(~np.isnan(y))
    if at.size < 2:
        return math.nan
    i, j = (at[k] for k in np.triu_indices(at.size, k=1))
    return float(np.median((y[j] - y[i]) / (j - i)))


def climb_threshold(baseline: np.ndarray, k: int) -> tuple[float, float, float]:
    """How fast a (k+1)-frame window must climb to be more than the heating, noise and flicker of the
    baseline frames before it, and as fast as a melt flash: (threshold, heating pace, spread of such windows'
    slopes)."""
    measured = baseline[~np.isnan(baseline)]
    # A slope over every pair: the median of frame-to-frame steps swings by a level or more under a
    # flickering light, and 3x that pace had hidden a 3/frame climb (synthetic flicker, seed 7).
    line = theil_sen(measured) if measured.size > 1 else 0.0
    pace = max(line, 0.2)
    # The slopes of the windows before. Few fit in a short heating, and their spread can come out far too
    # small (a flicker spike then passed for the climb, 4-7 s early), so it is at least the standard error
    # of a line's slope over k+1 frames with the frames' scatter about the heating line.
    windows = np.lib.stride_tricks.sliding_window_view(baseline, k + 1)
    before = np.asarray([theil_sen(w) for w in windows])
    residual = measured - line * np.arange(measured.size)
    scatter = max(robust_std(residual, short=0.0), float(np.std(residual)) if residual.size else 0.0)
    chance = scatter * math.sqrt(12.0 / ((k + 1) * ((k + 1) ** 2 - 1)))
    spread = max(robust_std(before), chance, 0.05)
    # And as fast as a flash climbs: a recording begun after the collapse (the real run from 160 s) has a
    # short, quiet baseline, and the settling's 0.8 %/frame had passed for the climb.
    flash = FLASH_CLIMB * float(np.median(measured[-5:])) if measured.size else 0.0
    return max(3.0 * pace, float(np.median(before)) + 4.0 * spread, flash), pace, spread


@dataclass(frozen=True, slots=True)
class Climb:
    """A window that climbs as a melt flash does."""

    at: int  # where the climb begins (knee), the event's frame
    slope: float  # the window's robust slope, per frame
    threshold: float  # what it beat (climb_threshold)
    note: str
    base: float  # the level before it: the median of the baseline's last five frames

    @property
    def margin(self) -> float:
        return self.slope / self.threshold

    def evidence(self) -> Evidence:
        return Evidence("level climb per frame", self.slope, self.threshold, self.note)


def flash_climb(x: Sequence[float], times: Sequence[float], n: int, k: int, hold: int) -> Climb | None:
    """Whether the k+1 frames of the level x ending before frame n climb beyond the NOISE_FRAMES before them
    (climb_threshold) and the `hold` frames from n keep that climb, and where it began."""
    baseline = np.asarray(x[max(0, n - k - NOISE_FRAMES) : n - k], dtype=float)
    threshold, pace, spread = climb_threshold(baseline, k)
    slope = theil_sen(np.asarray(x[n - k - 1 : n], dtype=float))
    if not slope > threshold:
        return None
    # A melt glows brighter until its flash collapses, tens of frames on; a flickering light's run of bright
    # frames falls back. The baseline can be short (a recording begun 20 s before the melt) and then its
    # spread misses how a +-4 % flicker climbs by chance: five bright frames in a row passed for the flash
    # 11 s early (flicker and dropped seconds, late-peak-low-tc seed 18003).
    after = np.asarray(x[n : n + hold], dtype=float)
    held = after[~np.isnan(after)]
    base = float(np.median(baseline[-5:]))
    if after.size < hold or not held.size or not float(np.median(held)) - base > 0.5 * slope * k:
        return None
    # Dated where the climb begins, not where the window that confirmed it does (3 frames early). Not on the
    # frames that confirmed it as well: a glint among them, not yet known for one, pulls the climb's line
    # (stop 43: a glint at 138 s dated a flash that began at 130 s at 136 s).
    b = max(n - 3 * k - 1, 0)
    note = f"over {k} frames; heating pace {pace:.2f}/frame, slope spread before {spread:.2f}"
    return Climb(b + knee(times[b:n], x[b:n]), slope, threshold, note, base)


def flash_peak(x: Sequence[float], start: int, base: float, jitter: float) -> int:
    """The flash's peak in x from `start` (base: the level it rose from): of a flat top (a glint, or a
    flickering light's spikes) its last frame within twice the level's jitter of the highest, the jitter
    scaled to the top's brightness (a flicker multiplies)."""
    top = np.asarray(x[start:], dtype=float)
    if np.isnan(top).all():  # nothing measured since (a table row without means)
        return len(x) - 1
    highest = float(np.nanmax(top))
    scale = highest / base if base > 0 else 1.0
    band = 2.0 * jitter * scale if math.isfinite(jitter) else 0.0
    return start + int(np.flatnonzero(top >= highest - band)[-1])


def flash_collapse(
    x: Sequence[float], peak: int, base: float, floor: float, hold: int
) -> tuple[float, float, float] | None:
    """(drop, the drop it needed, amplitude) when the flash at `peak` has collapsed: a third of it gone
    within two frames, and still gone `hold` frames on (a glint comes back), by more than `floor` (the
    level's own jitter while heating: a flickering light's spike is no flash). Still gone against the level
    the flash had climbed to, the median of the peak and the two frames before it: a +-6 % flicker's spike
    on a flash still climbing (149 on about 135) falls back to the climb, not below it, and its fall had
    passed for the collapse 7 s early (probe programme low-liquidus-hot)."""
    amplitude, after = x[peak] - base, x[peak + 1 :]
    if amplitude <= 0 or len(after) < hold:
        return None
    top, climbed = x[peak], float(np.nanmedian(x[max(peak - 2, 0) : peak + 1]))  # the peak is measured
    low = int(np.argmin(after[:2]))
    drop, need = top - after[low], max(0.3 * amplitude, floor)
    if drop > need and all(climbed - v > 0.15 * amplitude for v in after[low:]):
        return drop, need, amplitude
    return None


def flash_climbing(x: Sequence[float], frames: int) -> bool:
    """Whether the first `frames` levels climb as a melt flash does (a robust slope of FLASH_CLIMB of their
    level a frame): a recording begun during the flash."""
    first = np.asarray(x[:frames], dtype=float)
    return first.size == frames and theil_sen(first) >= FLASH_CLIMB * float(np.median(first))
