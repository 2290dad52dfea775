"""The sample's look in one frame, as maps over a copy shrunk to WORK_WIDTH (so they work alike on any
frame size): relative texture, brightness, their change against reference frames, and the one compact
region that stands out of such a map. locate.py decides with them where the sample is."""

import math
from collections.abc import Sequence
from dataclasses import dataclass

import cv2
import numpy as np

from monitor.analytics.stats import robust_std
from monitor.config.overlay import Box

WORK_WIDTH = 320  # px; the sample is ~80 px wide at this size in the default camera
SMOOTH_SHARE = 0.02  # the texture energy is pooled over a Gaussian this wide, as a share of the width
# Margin added around the found region on each side, as shares of its size: the default box (285 x 155 px
# around a 256 x 131 px sample) has about these.
MARGIN_X, MARGIN_Y = 0.06, 0.09
MIN_RATIO = 1.5  # the region must be this many times the background's score to count at all
Z_MIN, Z_GOOD = 4.0, 12.0  # and stand this many background spreads out of it: no trust .. full trust
MIN_AREA_SHARE, MAX_AREA_SHARE = 0.002, 0.35  # a sample is neither a speck nor most of the picture
BANDS = (1.0, 3.0)  # px at WORK_WIDTH: fine grain, and the grain a soft lens leaves
DARK_SHARE = 0.2  # pixels darker than this share of the median are an overlay's background, not scene


@dataclass(frozen=True, slots=True)
class Blob:
    box: tuple[float, float, float, float]  # x0, y0, x1, y1 in work pixels, without margin
    ratio: float  # the region's score over the background's
    confidence: float


class WorkImage:
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


def find_blob(score: np.ndarray, valid: np.ndarray) -> Blob | None:
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
    return Blob(box=(x, y, x + w, y + h), ratio=plateau, confidence=round(strength * compact * flat, 3))


def to_frame_box(blob: Blob, work: WorkImage) -> Box:
    x0, y0, x1, y1 = blob.box
    mx, my = MARGIN_X * (x1 - x0), MARGIN_Y * (y1 - y0)
    w, h = work.frame_size
    s = work.scale
    fx0, fy0 = max(0, round((x0 - mx) / s)), max(0, round((y0 - my) / s))
    fx1, fy1 = min(w, round((x1 + mx) / s)), min(h, round((y1 + my) / s))
    return Box(x=fx0, y=fy0, width=max(8, fx1 - fx0), height=max(8, fy1 - fy0))


def rank(blob: Blob) -> tuple[float, float]:
    return (blob.confidence, blob.ratio)


def change_map(work: WorkImage, texture_ref: Sequence[np.ndarray], level_ref: np.ndarray) -> np.ndarray:
    """How much each place changed against the reference frames, beyond what the whole frame did:
    the change of relative texture plus the change of brightness relative to the frame's median change."""
    texture = sum(
        np.abs(np.log((work.texture(band) + 1e-4) / (ref + 1e-4)))
        for band, ref in zip(BANDS, texture_ref, strict=True)
    ) / len(BANDS)
    level = work.log_level() - level_ref
    level = np.abs(level - float(np.median(level[work.valid > 0])))
    return (texture + 2.0 * level).astype(np.float32)
