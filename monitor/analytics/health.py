"""Thermocouple health: how far 1# and 2# can be trusted, judged online over a sliding window.

Three kinds of evidence, each turned into a penalty in 0..1; the score is the product of (1 - penalty):

- Jumps: a furnace wire cannot change by `jump_c` (40 degC) within one second, so every larger
  frame-to-frame step is a reading that has nothing to do with the sample. A few are tolerated (an OCR
  misread such as 114 for 1140 costs two steps, and the wire is fine), a steady share is not.
- Stuck: a reading that does not move while the image mean (which follows the sample) clearly does. A
  held furnace is flat too, so a stretch counts only when the image mean moves substantially in it, and
  not when the other thermocouple is just as flat there (both flat while the image changes is a hold
  with the sample melting or crystallizing, not two broken wires at once).
- Agreement with the image: Pearson r with the image mean. The image mean is no thermometer (in the real
  run it flashes bright while melting and darkens as the sample turns red), so r is judged relatively:
  it counts only when the image mean varies in the window, and a poor r is held against a thermocouple
  only when the other one does follow the image. Isolated outliers are left out of r: the jump evidence
  already counts them, and one misread would otherwise decide r alone.

The noise level (MAD of second differences, which ignores trends and spikes) is reported and costs a
little when it is several times the other thermocouple's. Frames with no reading (None/nan) are skipped;
a thermocouple without a reading in most of the window loses trust, and before `MIN_FRAMES` frames
nothing is claimed at all. Where the image barely moves (a hold, slow cooling) nothing here can tell a
stuck wire from a steady furnace: the verdict then rests on jumps and noise alone.
"""

import warnings
from collections import deque
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from numpy.lib.stride_tricks import sliding_window_view

from monitor.records import ThermocoupleHealth

NAMES = ("1#", "2#")
MIN_FRAMES = 10  # fewer frames than this: too early to judge anything
SPAN = 30  # frames of a stuck check; its first and last thirds are compared
IMAGE_CHANGE = 0.10  # image mean moves 'substantially': >= 10 % of its level between the thirds
STUCK_BAND_C = 2.0  # a reading is flat when its thirds differ by <= max(this, 2 x its noise)
IMAGE_VARIES = 0.02  # r counts when the image mean's std >= 2 % of its level (and 3 x its own noise)
R_GOOD, R_POOR = 0.6, 0.3
JUMP_OK, JUMP_BAD = 0.05, 0.20  # share of jumping steps: tolerated .. fully untrustworthy
STUCK_BAD = 0.25  # stuck during a quarter of the window is already fully untrustworthy
RELIABLE = 0.5

Series = Sequence[float | None] | np.ndarray


@dataclass(frozen=True, slots=True)
class _Stats:
    x: np.ndarray
    valid: int
    noise: float
    flat: np.ndarray  # per stuck-check position: the reading did not move (False: too little data)
    smooth_move: np.ndarray  # per position: it moved, without a single jump
    absent: np.ndarray  # per position: too little data to say either
    r: float | None


def _array(values: Series) -> np.ndarray:
    return np.array([np.nan if v is None else float(v) for v in values], dtype=float)


def _noise(x: np.ndarray) -> float:
    d2 = np.diff(x, 2)
    d2 = d2[~np.isnan(d2)]
    if d2.size < 3:
        return 0.0
    # 1.4826 x MAD estimates a std; a second difference of white noise has sqrt(6) x its std
    return float(1.4826 * np.median(np.abs(d2 - np.median(d2))) / np.sqrt(6.0))


def _thirds(x: np.ndarray, span: int) -> tuple[np.ndarray, np.ndarray]:
    """Per position: the change between the medians of the first and last thirds, and the median level."""
    w = sliding_window_view(x, span)
    third = span // 3
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # all-nan thirds give nan, which never counts
        first, last = np.nanmedian(w[:, :third], axis=1), np.nanmedian(w[:, -third:], axis=1)
        level = np.nanmedian(w, axis=1)
    enough = (np.sum(~np.isnan(w[:, :third]), 1) >= 2) & (np.sum(~np.isnan(w[:, -third:]), 1) >= 2)
    return np.where(enough, np.abs(last - first), np.nan), level


def _correlation(x: np.ndarray, image: np.ndarray, jump_c: float) -> float | None:
    padded = np.pad(x, 3, constant_values=np.nan)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        local = np.nanmedian(sliding_window_view(padded, 7), axis=1)
    keep = (np.abs(x - local) <= jump_c) & ~np.isnan(image)
    if keep.sum() < MIN_FRAMES or np.ptp(x[keep]) == 0 or np.ptp(image[keep]) == 0:
        return None
    return float(np.corrcoef(x[keep], image[keep])[0, 1])


def _stats(x: np.ndarray, image: np.ndarray, span: int, image_varies: bool, jump_c: float) -> _Stats:
    noise = _noise(x)
    moved, _ = _thirds(x, span)
    band = max(STUCK_BAND_C, 2.0 * noise)
    jumped = np.nan_to_num(np.abs(np.diff(x))) > jump_c
    no_jump = ~sliding_window_view(jumped, span - 1).any(axis=1)
    r = _correlation(x, image, jump_c) if image_varies else None
    return _Stats(
        x, int(np.sum(~np.isnan(x))), noise, moved <= band, (moved > band) & no_jump, np.isnan(moved), r
    )


def _verdict(
    i: int, stats: list[_Stats], image_moved: np.ndarray, image_varies: bool, span: int, jump_c: float
) -> ThermocoupleHealth:
    (name, me), (other_name, other) = (NAMES[i], stats[i]), (NAMES[1 - i], stats[1 - i])
    n, reasons, penalties = me.x.size, [], []
    missing = 1.0 - me.valid / n
    if missing > 0.5:
        penalties.append(min(1.0, (missing - 0.5) / 0.5))
        reasons.append(f"no reading in {missing:.0%} of {n} frames")
    steps = np.diff(me.x)
    steps = steps[~np.isnan(steps)]
    jumps = int(np.sum(np.abs(steps) > jump_c))
    jump_rate = jumps / steps.size if steps.size else 0.0
    if jumps:
        penalties.append(float(np.clip((jump_rate - JUMP_OK) / (JUMP_BAD - JUMP_OK), 0.0, 1.0)))
        tolerated = ", few enough to be misreads" if jump_rate <= JUMP_OK else ""
        reasons.append(
            f"{jump_rate:.0%} of steps jump more than {jump_c:g} degC ({jumps} of {steps.size}){tolerated}"
        )
    # the other one must have moved smoothly (or be absent): both flat is a hold, a jumpy one proves nothing
    stuck = me.flat & (image_moved >= IMAGE_CHANGE) & (other.smooth_move | other.absent)
    covered = np.convolve(stuck.astype(float), np.ones(span))[:n] > 0 if stuck.size else np.zeros(n, bool)
    stuck_share = float(covered.mean())
    if stuck_share > 0:
        penalties.append(min(1.0, stuck_share / STUCK_BAD))
        reasons.append(
            f"stuck near {np.nanmedian(me.x[covered]):.0f} degC for {stuck_share:.0%} of {n} frames while "
            f"the image mean changed by up to {np.max(image_moved[stuck]):.0%}"
            + (f" and {other_name} moved" if other.smooth_move[stuck].any() else "")
        )
    constant = me.valid >= MIN_FRAMES and np.nanmax(me.x) == np.nanmin(me.x)
    me_poor = constant or (me.r is not None and me.r < R_POOR)
    if image_varies and me_poor and other.r is not None and other.r >= R_GOOD:
        penalties.append(0.6)
        if me.r is None:
            head = f"flat over {n} frames while the image mean varies and"
        else:
            head = f"r = {me.r:.2f} with the image mean over {n} frames while"
        reasons.append(f"{head} {other_name} follows it (r = {other.r:.2f})")
    floor = max(other.noise, 1.0)  # integer readings of a smooth wire have a MAD of 0
    if other.valid >= MIN_FRAMES and me.noise >= 2.0 and me.noise >= 3.0 * floor:
        penalties.append(min(0.3, (me.noise / floor - 2.0) / 10.0))
        reasons.append(f"noise +-{me.noise:.1f} degC, {me.noise / floor:.1f} x that of {other_name}")
    score = float(np.prod([1.0 - p for p in penalties]))
    return ThermocoupleHealth(name, score, score >= RELIABLE, tuple(reasons), me.r, jump_rate, stuck_share)


def assess(t1: Series, t2: Series, image_mean: Series, *, jump_c: float = 40.0) -> list[ThermocoupleHealth]:
    """Health of 1# and 2# over whole, equally long series (None or nan = no reading that frame).

    The correlation is None when it is undefined or not counted: the image mean does not vary, the
    reading is constant, or fewer than `MIN_FRAMES` frames have both.
    """
    xs, image = [_array(t1), _array(t2)], _array(image_mean)
    n = image.size
    if any(x.size != n for x in xs):
        raise ValueError(f"series of different lengths: {xs[0].size}, {xs[1].size}, {n}")
    if n < MIN_FRAMES:
        reason = (f"only {n} frames so far: too early to judge",)
        return [ThermocoupleHealth(name, 1.0, True, reason, None, 0.0, 0.0) for name in NAMES]
    span = min(SPAN, n)
    image_change, image_level = _thirds(image, span)
    image_moved = np.nan_to_num(image_change / np.maximum(image_level, 1.0))
    std = float(np.nanstd(image))
    image_varies = std >= max(IMAGE_VARIES * abs(float(np.nanmean(image))), 3.0 * _noise(image), 1e-9)
    stats = [_stats(x, image, span, image_varies, jump_c) for x in xs]
    return [_verdict(i, stats, image_moved, image_varies, span, jump_c) for i in range(2)]


class ThermocoupleHealthMonitor:
    """Online health of both thermocouples: `assess` on the last `window` frames, again every `every`
    frames (a verdict over 120 frames moves slowly, and one costs milliseconds: not every frame's)."""

    def __init__(self, *, window: int = 120, jump_c: float = 40.0, every: int = 30) -> None:
        if window < MIN_FRAMES:
            raise ValueError(f"window must be at least {MIN_FRAMES} frames, got {window}")
        self.window, self.jump_c, self.every = window, jump_c, every
        self._frames: deque[tuple[float | None, float | None, float]] = deque(maxlen=window)
        self._seen = 0
        self._last: list[ThermocoupleHealth] | None = None

    def update(self, t1_c: float | None, t2_c: float | None, image_mean: float) -> None:
        """Add one frame's readings (None = missing or flagged) and its whole-frame mean brightness."""
        self._frames.append((t1_c, t2_c, image_mean))
        self._seen += 1

    def verdict(self) -> list[ThermocoupleHealth]:
        """Health of 1# and 2# over the frames in the window."""
        t1, t2, image = zip(*self._frames, strict=True) if self._frames else ((), (), ())
        return assess(t1, t2, image, jump_c=self.jump_c)

    def current(self) -> list[ThermocoupleHealth]:
        """The latest verdict, made again once `every` frames have come since the last one."""
        if self._last is None or self._seen % self.every == 0:
            self._last = self.verdict()
        return self._last
