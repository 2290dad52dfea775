"""Where the sample is in this run's frames, found from the frames themselves rather than assumed.

Cues (each a map over a copy of the frame shrunk to WORK_WIDTH, so they work alike on any frame size):
- texture: before melting the sample is powder, the one compact grainy region of the picture. Texture is
  taken as relative local contrast (high-pass energy / local mean), so a gain or white-balance change does
  not alter it, and it is averaged over the first frames, so camera noise (new every frame) averages out
  while the powder's grain (the same every frame) stays.
- change: while melting the sample changes (its grain vanishes, it flashes and turns to a smooth liquid)
  while the background only changes in brightness. The change of relative texture and of brightness
  relative to the whole frame's change, against the first frames, marks the sample again later on.
The overlay box (configured, plus any near-black block) and the frame border are left out of both maps.

Online rule (SampleLocator): a box from the first frame on, improved on each new frame until `lock_frames`
frames have been seen, then LOCKED for the rest of the run: the texture series must not jump mid-run. The
change cue is then only a check: when it is confident and its box disagrees with the locked one (IoU below
DISAGREE_IOU), the locator reports it (`check`, logged once) and keeps the locked box; the next run locates
afresh.
"""

import logging
import math
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np

from monitor.analytics.stats import robust_std
from monitor.config.overlay import Box

log = logging.getLogger(__name__)

LOCK_FRAMES = 5  # frames the box is learned on before it is locked for the run
WORK_WIDTH = 320  # px; the sample is ~80 px wide at this size in the default camera
SMOOTH_SHARE = 0.02  # the texture energy is pooled over a Gaussian this wide, as a share of the width
# Margin added around the found region on each side, as shares of its size: the default box (285 x 155 px
# around a 256 x 131 px sample) has about these.
MARGIN_X, MARGIN_Y = 0.06, 0.09
MIN_RATIO = 1.5  # the region must be this many times the background's score to count at all
Z_MIN, Z_GOOD = 4.0, 12.0  # and stand this many background spreads out of it: no trust .. full trust
DISAGREE_IOU = 0.3  # a check box overlapping the locked one less than this disagrees with it
MIN_AREA_SHARE, MAX_AREA_SHARE = 0.002, 0.35  # a sample is neither a speck nor most of the picture
CHECK_CONFIDENCE = 0.5  # a change region less sure than this is no evidence against the locked box
# The check looks at a frame every CHECK_EVERY_S seconds (every that many frames without times): the melt it
# watches for lasts tens of seconds, and a map per frame cost the daemon about 16 ms on each of the 120
# frames after the lock.
CHECK_EVERY_S = 4.0
BANDS = (1.0, 3.0)  # px at WORK_WIDTH: fine grain, and the grain a soft lens leaves
DARK_SHARE = 0.2  # pixels darker than this share of the median are an overlay's background, not scene


@dataclass(frozen=True, slots=True)
class SampleLocation:
    """The sample box of a run and how it was found."""

    box: Box  # frame pixels, with a small margin around the sample
    method: str  # "texture", "change", "configured" or "fallback"
    confidence: float  # 0..1
    reason: str  # one line for the log and the report
    frame_size: tuple[int, int] | None  # width, height of the frames it was found on (None: configured)


@dataclass(frozen=True, slots=True)
class LocationCheck:
    """A later cue compared with the locked box (reported, never applied mid-run)."""

    box: Box
    method: str
    confidence: float
    iou: float  # with the locked box
    agrees: bool
    time_s: float | None
    reason: str


@dataclass(frozen=True, slots=True)
class _Blob:
    box: tuple[float, float, float, float]  # x0, y0, x1, y1 in work pixels, without margin
    ratio: float  # the region's score over the background's
    confidence: float


def box_iou(a: Box, b: Box) -> float:
    ix = max(0, min(a.x + a.width, b.x + b.width) - max(a.x, b.x))
    iy = max(0, min(a.y + a.height, b.y + b.height) - max(a.y, b.y))
    inter = ix * iy
    return inter / float(a.width * a.height + b.width * b.height - inter)


def default_box(width: int, height: int) -> Box:
    """Where the simulator's default camera puts the sample, for a frame of this size: the fallback when no
    cue is confident (the centre-and-size of analytics' old fixed box, scaled to the frame)."""
    sx, sy = width / 1024.0, height / 768.0
    return Box(
        x=round(370 * sx), y=round(345 * sy), width=max(8, round(285 * sx)), height=max(8, round(155 * sy))
    )


def probe_points_in(box: Box) -> tuple[tuple[int, int], tuple[int, int]]:
    """Probe pixels at the same places relative to the sample box as the defaults (512, 422) and (470, 430)
    are in the default box: its centre, and a little left of and below it."""
    return (
        (box.x + round(0.498 * box.width), box.y + round(0.497 * box.height)),
        (box.x + round(0.351 * box.width), box.y + round(0.548 * box.height)),
    )


class _Work:
    """One frame shrunk to the working size, as grey, with the mask of the pixels that are scene."""

    def __init__(self, image: np.ndarray, ignore: Sequence[Box]) -> None:
        h, w = image.shape[:2]
        self.frame_size = (w, h)
        self.scale = WORK_WIDTH / w
        size = (WORK_WIDTH, max(8, round(h * self.scale)))
        colour = cv2.resize(image, size, interpolation=cv2.INTER_AREA).astype(np.float32)
        # equal weights: a white-balance change moves the grey level but not the texture's relative contrast
        self.grey = colour.mean(axis=2) + 1.0
        scene = self._scene_mask(ignore)
        # the left-out parts are filled with the scene's median so their edges make no texture, and the
        # maps are trusted only farther than the pooling reach from them
        self.grey[scene == 0] = float(np.median(self.grey[scene > 0])) if scene.any() else 1.0
        reach = 2 * round(3 * SMOOTH_SHARE * WORK_WIDTH) + 1
        self.valid = cv2.erode(scene, np.ones((reach, reach), np.uint8))

    def _scene_mask(self, ignore: Sequence[Box]) -> np.ndarray:
        hh, ww = self.grey.shape
        valid = np.ones((hh, ww), np.uint8)
        border = max(2, round(0.015 * ww))
        valid[:border], valid[-border:], valid[:, :border], valid[:, -border:] = 0, 0, 0, 0
        for b in ignore:
            x0, y0 = int(b.x * self.scale), int(b.y * self.scale)
            x1, y1 = int(np.ceil((b.x + b.width) * self.scale)), int(np.ceil((b.y + b.height) * self.scale))
            valid[max(0, y0 - 2) : y1 + 2, max(0, x0 - 2) : x1 + 2] = 0
        # a burned-in text box is near-black with bright strokes: close the strokes into the block, drop it
        dark = (self.grey < DARK_SHARE * float(np.median(self.grey))).astype(np.uint8)
        k = max(3, round(0.03 * ww)) | 1
        dark = cv2.dilate(cv2.morphologyEx(dark, cv2.MORPH_CLOSE, np.ones((k, k), np.uint8)), np.ones((k, k)))
        return valid & (1 - dark)

    def texture(self, band: float = 1.0) -> np.ndarray:
        """Relative local contrast: band-pass energy (detail finer than `band` px) over local brightness,
        pooled over SMOOTH_SHARE of the width."""
        s = SMOOTH_SHARE * WORK_WIDTH
        high = self.grey - cv2.GaussianBlur(self.grey, (0, 0), band)
        energy = cv2.GaussianBlur(high * high, (0, 0), s)
        return np.sqrt(energy) / cv2.GaussianBlur(self.grey, (0, 0), s)

    def log_level(self) -> np.ndarray:
        return np.log(cv2.GaussianBlur(self.grey, (0, 0), SMOOTH_SHARE * WORK_WIDTH))


def _find_blob(score: np.ndarray, valid: np.ndarray) -> _Blob | None:
    """The compact region that stands out most from the background in a non-negative score map."""
    inside = score[valid > 0]
    if inside.size == 0:
        return None
    background = float(np.median(inside)) + 1e-6
    ratio = np.where(valid > 0, score / background, 0.0).astype(np.float32)
    peak = float(ratio.max())
    if peak < MIN_RATIO:
        return None
    # the components above halfway (in log terms) between background and peak; the one with most excess
    level = float(np.sqrt(peak))
    count, labels, stats, _ = cv2.connectedComponentsWithStats((ratio > level).astype(np.uint8), 8)
    if count < 2:
        return None
    excess = np.bincount(labels.ravel(), weights=np.maximum(ratio - level, 0).ravel(), minlength=count)
    best = int(np.argmax(excess[1:])) + 1
    plateau = float(np.percentile(ratio[labels == best], 75))
    # the region's extent: where the score is above half its plateau, connected to the chosen component
    half = 1.0 + 0.5 * (plateau - 1.0)
    count, labels, stats, _ = cv2.connectedComponentsWithStats((ratio > half).astype(np.uint8), 8)
    seed = np.argwhere(ratio == ratio[labels > 0].max())[0] if count > 1 else None
    if seed is None:
        return None
    region = int(labels[seed[0], seed[1]])
    if region == 0:
        return None
    x, y, w, h, area = (int(v) for v in stats[region])
    share = area / float(ratio.size)
    if not MIN_AREA_SHARE <= share <= MAX_AREA_SHARE:
        return None
    fill = area / float(w * h)  # an ellipse fills pi/4 of its box; a line or an L much less
    # how far the region stands out of the background's own spread (pooled maps are smooth and precise,
    # so a weak but real texture under noise still stands well clear)
    outside = ratio[(valid > 0) & (labels != region)]
    spread = robust_std(outside, minimum=1, short=math.nan) + 1e-3
    z = (plateau - float(np.median(outside))) / spread
    strength = float(np.clip((z - Z_MIN) / (Z_GOOD - Z_MIN), 0.0, 1.0))
    compact = float(np.clip((fill - 0.3) / 0.4, 0.0, 1.0))
    # a sample bridging two wire tips is wider than tall; a wire leg is tall and thin
    # and no thin strip along an edge (w/h beyond 5)
    flat = float(np.clip((w / h - 0.5) / 0.5, 0.0, 1.0) * np.clip(6.0 - w / h, 0.0, 1.0))
    return _Blob(box=(x, y, x + w, y + h), ratio=plateau, confidence=round(strength * compact * flat, 3))


def _to_frame_box(blob: _Blob, work: _Work) -> Box:
    x0, y0, x1, y1 = blob.box
    mx, my = MARGIN_X * (x1 - x0), MARGIN_Y * (y1 - y0)
    w, h = work.frame_size
    s = work.scale
    fx0, fy0 = max(0, round((x0 - mx) / s)), max(0, round((y0 - my) / s))
    fx1, fy1 = min(w, round((x1 + mx) / s)), min(h, round((y1 + my) / s))
    return Box(x=fx0, y=fy0, width=max(8, fx1 - fx0), height=max(8, fy1 - fy0))


class SampleLocator:
    """Locates the sample of one run from its frames, fed in order (one locator per run).

    `update(image)` returns the box to use for that frame: from the first frame on, refined on each frame
    until `lock_frames` frames were seen, then fixed. Later frames only feed the change check.
    """

    def __init__(
        self, *, ignore: Sequence[Box] = (), lock_frames: int = LOCK_FRAMES, check_frames: int = 120
    ) -> None:
        self.ignore = tuple(ignore)
        self.lock_frames = lock_frames
        self.check_frames = check_frames  # how long after the lock the change check keeps looking
        self._frames = 0
        self._texture_sums: list[np.ndarray] = []
        self._level_ref: list[np.ndarray] = []
        self._texture_ref: list[np.ndarray] = []
        self._best_change: _Blob | None = None
        self._location: SampleLocation | None = None
        self._check: LocationCheck | None = None
        self._last_check: float | None = None  # time (or frame count) of the last frame the check looked at

    @property
    def locked(self) -> bool:
        return self._frames >= self.lock_frames

    @property
    def location(self) -> SampleLocation | None:
        return self._location

    @property
    def check(self) -> LocationCheck | None:
        """The change cue's verdict on the locked box, once it has seen a confident change."""
        return self._check

    def update(self, image: np.ndarray, *, time_s: float | None = None) -> SampleLocation:
        if self._location is not None and self._frames >= self.lock_frames + self.check_frames:
            return self._location  # locked and checked: nothing more to learn, nothing to compute
        size = (image.shape[1], image.shape[0])
        if self._location is not None and size != self._location.frame_size:
            log.warning("frame size changed mid-run to %s; the sample box stays as located", size)
            return self._location
        self._frames += 1
        if self._frames <= self.lock_frames:
            self._learn(_Work(image, self.ignore))
            if self._frames == self.lock_frames:
                assert self._location is not None
                log.info("sample located: %s", describe(self._location))
        elif self._frames <= self.lock_frames + self.check_frames:
            now = float(self._frames) if time_s is None else time_s
            if self._last_check is None or now - self._last_check >= CHECK_EVERY_S:
                self._last_check = now
                self._watch_change(_Work(image, self.ignore), time_s)
            if self._frames == self.lock_frames + self.check_frames and self._check is not None:
                level = logging.INFO if self._check.agrees else logging.WARNING
                log.log(level, "sample box check: %s; the box stays locked for this run", self._check.reason)
        assert self._location is not None
        return self._location

    def _learn(self, work: _Work) -> None:
        textures = [work.texture(band) for band in BANDS]
        self._texture_sums = (
            textures
            if not self._texture_sums
            else [a + b for a, b in zip(self._texture_sums, textures, strict=True)]
        )
        self._level_ref.append(work.log_level())
        self._texture_ref = [t / self._frames for t in self._texture_sums]
        blobs = [blob for t in self._texture_ref if (blob := _find_blob(t, work.valid)) is not None]
        blob = max(blobs, key=_rank, default=None)
        if blob is None or blob.confidence <= 0:
            w, h = work.frame_size
            self._location = SampleLocation(
                box=default_box(w, h),
                method="fallback",
                confidence=0.0,
                reason=f"no compact textured region in the first {self._frames} frames; "
                "the default camera's box scaled to the frame",
                frame_size=work.frame_size,
            )
            return
        self._location = SampleLocation(
            box=_to_frame_box(blob, work),
            method="texture",
            confidence=blob.confidence,
            reason=f"compact grainy region, {blob.ratio:.1f}x the background's texture, "
            f"over the first {self._frames} frames",
            frame_size=work.frame_size,
        )

    def _watch_change(self, work: _Work, time_s: float | None) -> None:
        assert self._location is not None
        score = change_map(work, self._texture_ref, np.mean(self._level_ref, axis=0))
        blob = _find_blob(score, work.valid)
        if blob is None or blob.confidence < CHECK_CONFIDENCE:
            return
        if self._best_change is not None and _rank(blob) <= _rank(self._best_change):
            return
        self._best_change = blob
        box = _to_frame_box(blob, work)
        overlap = box_iou(box, self._location.box)
        agrees = overlap >= DISAGREE_IOU
        self._check = LocationCheck(
            box=box,
            method="change",
            confidence=blob.confidence,
            iou=round(overlap, 3),
            agrees=agrees,
            time_s=time_s,
            reason=f"the region that changed most against the first frames ({blob.ratio:.1f}x the "
            f"background's change) {'agrees with' if agrees else 'disagrees with'} the locked box "
            f"(IoU {overlap:.2f})",
        )


def _rank(blob: _Blob) -> tuple[float, float]:
    return (blob.confidence, blob.ratio)


def change_map(work: _Work, texture_ref: Sequence[np.ndarray], level_ref: np.ndarray) -> np.ndarray:
    """How much each place changed against the reference frames, beyond what the whole frame did:
    the change of relative texture plus the change of brightness relative to the frame's median change."""
    texture = sum(
        np.abs(np.log((work.texture(band) + 1e-4) / (ref + 1e-4)))
        for band, ref in zip(BANDS, texture_ref, strict=True)
    ) / len(BANDS)
    level = work.log_level() - level_ref
    level = np.abs(level - float(np.median(level[work.valid > 0])))
    return (texture + 2.0 * level).astype(np.float32)


def locate_sample(
    images: Sequence[np.ndarray], *, ignore: Sequence[Box] = (), lock_frames: int = LOCK_FRAMES
) -> SampleLocation:
    """The batch form: the box the online locator locks on after the first `lock_frames` images."""
    if not images:
        raise ValueError("locate_sample needs at least one frame")
    locator = SampleLocator(ignore=ignore, lock_frames=lock_frames)
    for image in images[:lock_frames]:
        location = locator.update(image)
    return location


def configured(box: Box) -> SampleLocation:
    """The location when analytics.sample_roi sets the box: used as given."""
    return SampleLocation(
        box=box, method="configured", confidence=1.0, reason="analytics.sample_roi", frame_size=None
    )


@dataclass(frozen=True, slots=True)
class SampleFinding:
    """What a run's report says about the sample: where, how sure, the later check, a frame to mark."""

    location: SampleLocation
    check: LocationCheck | None
    frame: Path | None  # a frame of the run (one the box was learned on) to draw the box on


def describe(location: SampleLocation) -> str:
    b = location.box
    return (
        f"{b.width}x{b.height}+{b.x}+{b.y} by {location.method} "
        f"(confidence {location.confidence:.2f}): {location.reason}"
    )
