"""Per-frame image features: cheap, vectorised, on a downscaled copy where that does not change the result.

Whole-frame means, frame-to-frame change and the camera's photometric steps are taken on a copy shrunk
`downscale` times per side (an area average, so the means are the full frame's). Texture is taken on the
sample box only, halved (crystals span more than two pixels, the sensor noise does not): crystals are
textured, the liquid is smooth.
"""

import contextlib
import math

import cv2
import numpy as np

from monitor.analytics.camera import CameraTracker
from monitor.analytics.locate import default_box, probe_points_in
from monitor.analytics.photometric import NO_STEP, ColourDrift, measure_step
from monitor.config.analytics import AnalyticsConfig
from monitor.config.overlay import Box, OverlayConfig
from monitor.overlay.layout import LayoutError, search_region
from monitor.records import Features

# A pixel whose 5x5 neighbourhood varies by more than this share of its brightness counts as textured:
# relative, so crystals stay textured as the scene cools and dims, and the smooth melt stays smooth.
TEXTURE_LEVEL = 0.05
_WINDOW = (5, 5)
POWDER_FRAMES = 5  # frames of powder (the run's first with its box) that show where the sample is
_POWDER_BLUR = (9, 9)  # halved pixels the powder's texture is averaged over before it is thresholded
_POWDER_SHARE = 0.2  # a powder mask smaller than this share of the box: no powder seen, the whole box counts
# The mask grows by 4 halved pixels: the powder's rim is less grainy than its middle, and the last liquid
# freezes at the rim (without it, the texture flattened before growth ended: 47/50 sweep runs, not 49).
_POWDER_GROW = np.ones((9, 9), np.uint8)
# Powder is a heap: its grain fills its outline (0.965-1.0 of its convex hull on the 310 stored sweep and
# probe runs, heavy blur and late or mid-melt starts aside). Grain that does not is a ring: under a heavy
# blur only the heap's rim stays grainy (0.71-0.81), a recording begun after the melt shows the melt's soft
# rim, the glowing wires and glare (0.54-0.62). As a mask, a ring left the sample's inside out of its pixels.
# The sample lies within its outline, so then the convex hull is the mask (one recording begun mid-melt,
# 0.88, takes it too).
_POWDER_SOLIDITY = 0.9
_NOISE_STRIP = 24  # rows of chamber wall the noise is measured on
# A channel scales with the camera's gain while its means stay off black and few of its pixels are white: a
# clipped pixel's lost excess has no bound (a bright sample's red, 55 % white at a mean of 234 while the gain
# rose: its contrast fell 5 % and hid the clouding), a black one's is a few grey levels (at a mean of 10 under
# 1 % of the pixels sit at 5 or below).
_DARKEST_MEAN = 10.0
_WHITE, _WHITE_SHARE = 250, 0.01
_CHANNEL_MEAN = np.full((1, 3), 1.0 / 3.0, np.float32)  # cv2.transform's weights: B, G, R to grey


class FeatureExtractor:
    """Turns frames into Features, one run at a time (it remembers the previous frame and the camera's
    gain so far)."""

    def __init__(self, config: AnalyticsConfig, overlay: OverlayConfig | None = None) -> None:
        self.config = config
        self.overlay = overlay  # where the recorder burns its overlay in (OCR's search region)
        self._scene: np.ndarray | None = None  # of the downscaled frame: False on the overlay
        self.new_run()

    def new_run(self) -> None:
        self._previous: tuple[np.ndarray, np.ndarray] | None = None  # the last frame, downscaled; its grey
        self._drift = ColourDrift()
        self._powder = _PowderMask()
        self.camera = CameraTracker()
        self._sample_box: Box | None = self.config.sample_roi
        # The last frame's squared local contrast over the sample's pixels (for growth_end.SamplePixels):
        # an array per frame, so kept beside the Features record, not in it.
        self.sample_pixels: np.ndarray | None = None

    def set_sample_box(self, box: Box) -> None:
        """The run's sample box (located from its frames); analytics.sample_roi, when set, wins."""
        self._sample_box = self.config.sample_roi or box

    def sample_box(self, width: int, height: int) -> Box:
        """The box in use: configured, else set for this run, else the default camera's for this size."""
        return self._sample_box or default_box(width, height)

    def _probe_points(self, box: Box) -> list[tuple[int, int]]:
        if self.config.probe_points is not None:
            return [(p.x, p.y) for p in self.config.probe_points]
        return list(probe_points_in(box))

    def _scene_mask(self, shape: tuple[int, ...], f: int) -> np.ndarray | None:
        """The downscaled frame's pixels that are the camera's: the overlay's text does not take the gain, and
        where the scene is dark in a channel (blue, before a red-hot sample) it outvoted the scene there: a
        glint's return measured -15 % in green and red and 0 in blue (a 320x240 frame, seed 21003)."""
        if self.overlay is None:
            return None
        h, w = max(shape[0] // f, 1), max(shape[1] // f, 1)
        if self._scene is None or self._scene.shape != (h, w):
            self._scene = np.ones((h, w), bool)
            with contextlib.suppress(LayoutError):  # an overlay box off this frame leaves all of it the scene
                x0, y0, x1, y1 = search_region(self.overlay, shape)
                self._scene[y0 // f : -(-y1 // f), x0 // f : -(-x1 // f)] = False
        return self._scene

    def extract(self, image: np.ndarray) -> Features:
        h, w = image.shape[:2]
        f = self.config.downscale
        small = cv2.resize(image, (max(w // f, 1), max(h // f, 1)), interpolation=cv2.INTER_AREA)
        colour = small.astype(np.float32)
        # OpenCV's sums, not numpy's reductions over the channel axis: extract took half the time or less.
        b, g, r = cv2.mean(small)[:3]
        mean = (b + g + r) / 3.0
        grey = cv2.transform(colour, _CHANNEL_MEAN)
        change = math.nan
        step = NO_STEP
        if self._previous is not None and self._previous[0].shape == colour.shape:
            previous, previous_grey = self._previous
            change = cv2.mean(cv2.absdiff(grey, previous_grey))[0]
            step = measure_step(previous, colour, self._drift.usual(), self._scene_mask(image.shape, f))
            self._drift.add(step)
        self._previous = colour, grey
        camera = self.camera.observe(mean, step)
        box = self.sample_box(w, h)
        squared = texture_map(image, box)
        texture, share = contrast_of(squared)
        self.sample_pixels = self._powder.pixels(squared, box)
        area_texture = math.nan if self.sample_pixels is None else float(self.sample_pixels.mean())
        probes = tuple(
            tuple(float(v) for v in image[min(y, h - 1), min(x, w - 1)]) for x, y in self._probe_points(box)
        )
        return Features(
            mean=mean,
            mean_b=b,
            mean_g=g,
            mean_r=r,
            probes=probes,  # type: ignore[arg-type]
            change=change,
            texture=texture,
            textured_share=share,
            gain=camera.gain,
            level=camera.level,
            exposure_step=camera.exposure_step,
            sample_contrast=sample_contrast_of(colour, box, f),
            area_texture=area_texture,
        )


def sample_contrast_of(small: np.ndarray, box: Box, downscale: int) -> tuple[float, float, float]:
    """Per channel, the mean of the sample box over the mean of everything else, on the downscaled frame: a
    gain or a flicker multiplies both, so only what happens at the sample moves it. Every channel, since
    which one carries the sample depends on the scene: red saturates in a bright glow, blue and green go
    black in a dark one."""
    x0, y0 = box.x // downscale, box.y // downscale
    x1, y1 = (box.x + box.width) // downscale, (box.y + box.height) // downscale
    region = small[y0:y1, x0:x1]
    inside_pixels = region.shape[0] * region.shape[1]
    if inside_pixels == 0:
        return (math.nan, math.nan, math.nan)
    rest_pixels = max(small.shape[0] * small.shape[1] - inside_pixels, 1)
    white = (small >= _WHITE).view(np.uint8)
    # Per-channel sums by OpenCV: numpy's over interleaved channels took 0.7 ms a frame each.
    inside, total = _sums(region), _sums(small)
    white_inside, white_total = _sums(white[y0:y1, x0:x1]), _sums(white)
    level, rest = inside / inside_pixels, (total - inside) / rest_pixels
    ratio = level / np.maximum(rest, 1e-6)
    # A clipped channel no longer scales with the gain: it cannot vote.
    dark = (rest < _DARKEST_MEAN) | (level < _DARKEST_MEAN)
    white_rest = white_total - white_inside
    clipped = (white_inside > _WHITE_SHARE * inside_pixels) | (white_rest > _WHITE_SHARE * rest_pixels)
    usable = ~dark & ~clipped
    b, g, r = (float(v) if ok else math.nan for v, ok in zip(ratio, usable, strict=True))
    return (b, g, r)


def _sums(image: np.ndarray) -> np.ndarray:
    """The per-channel sums of a BGR image (or a view into one)."""
    return np.array(cv2.sumElems(image)[:3])


class _PowderMask:
    """Where in the box the sample is: the pixels that were grainy powder on the run's first POWDER_FRAMES
    frames with this box. The box also holds some wall and the thermocouple wires below the sample, and the
    wires' contrast against the wall grows as they stop glowing on cooling: over the whole box that made the
    texture keep rising after growth had ended and hid the end."""

    def __init__(self) -> None:
        self._box: Box | None = None
        self._sum: np.ndarray | None = None
        self._frames = 0
        self.mask: np.ndarray | None = None  # None: the whole box (not learned yet, or no powder seen)

    def pixels(self, squared: np.ndarray | None, box: Box) -> np.ndarray | None:
        """The squared contrast of the sample's pixels (the whole box until they are known), flattened."""
        if squared is None:
            return None
        if box != self._box or self._sum is None or self._sum.shape != squared.shape:
            self._box, self._sum, self._frames, self.mask = box, np.zeros_like(squared), 0, None
        if self._frames < POWDER_FRAMES:
            self._sum += squared
            self._frames += 1
            if self._frames == POWDER_FRAMES:
                # Blurred, so the powder's grain between its grainiest pixels counts, and thin lines do not.
                grainy = cv2.blur(self._sum / POWDER_FRAMES, _POWDER_BLUR) > 0.5 * TEXTURE_LEVEL**2
                grainy = cv2.dilate(grainy.astype(np.uint8), _POWDER_GROW) > 0
                if grainy.mean() < _POWDER_SHARE:
                    self.mask = None
                else:
                    hull = convex_hull(grainy)
                    self.mask = grainy if solidity(grainy, hull) >= _POWDER_SOLIDITY else hull
        return squared.ravel() if self.mask is None else squared[self.mask]


def convex_hull(mask: np.ndarray) -> np.ndarray:
    """The mask's convex hull, filled."""
    hull = np.zeros(mask.shape, np.uint8)
    points = cv2.findNonZero(mask.view(np.uint8))
    if points is not None:
        cv2.fillConvexPoly(hull, cv2.convexHull(points), 1)
    return hull > 0


def solidity(mask: np.ndarray, hull: np.ndarray | None = None) -> float:
    """The share of the mask's convex hull (computed unless given) that the mask fills."""
    hull = convex_hull(mask) if hull is None else hull
    return float(mask.sum()) / max(float(hull.sum()), 1.0)


def contrast_of(squared: np.ndarray | None) -> tuple[float, float]:
    """The mean local contrast and the share of pixels whose contrast is above TEXTURE_LEVEL."""
    if squared is None:
        return math.nan, math.nan
    contrast = np.sqrt(squared)
    return float(contrast.mean()), float((contrast > TEXTURE_LEVEL).mean())


def texture_map(image: np.ndarray, box: Box) -> np.ndarray | None:
    """The squared local contrast (local variance / local mean squared) of each pixel of the sample box,
    halved; None when the box is empty.

    Its mean and the mean of its square root part near the end of growth. The squared one is an area
    average: a 5x5 window that is a fifth crystal adds a fifth of a crystal's variance, so it grows in step
    with the crystalline area while the last liquid pockets freeze; the plain contrast gives that window
    almost half a crystal's contrast (a square root), so it runs ahead of the crystal fraction and flattens
    early. Over the middle of growth the plain contrast follows the fraction more closely (grain boundaries,
    which form as grains meet, add variance late). The sensor's noise is taken out of the local variance
    first: a dark frame (a fixed exposure while the sample cools) or a raised gain would otherwise look
    textured."""
    roi = image[box.y : box.y + box.height, box.x : box.x + box.width]
    if roi.size == 0:
        return None
    grey = _halved(cv2.cvtColor(roi, cv2.COLOR_BGR2GRAY))
    mean = cv2.blur(grey, _WINDOW)
    variance = cv2.blur(grey * grey, _WINDOW) - mean * mean
    return np.maximum(variance - noise_variance(image, box), 0.0) / np.maximum(mean, 1.0) ** 2


def noise_variance(image: np.ndarray, box: Box) -> float:
    """The sensor noise's variance, from the smooth chamber wall in a strip just above the sample box
    (below it when the box touches the top), measured with the texture's own 5x5 local variance: JPEG and
    demosaicing correlate neighbouring pixels, so a difference of neighbours sees a third of what the
    texture's windows see, and the leftover noise would grow as the sample dims."""
    height = _NOISE_STRIP
    top = box.y - height - 4 if box.y - height - 4 >= 0 else box.y + box.height + 4
    strip = image[max(top, 0) : top + height, box.x : box.x + box.width]
    if strip.shape[0] < 2 * _WINDOW[1] or strip.shape[1] < 2 * _WINDOW[0]:
        return 0.0
    grey = _halved(cv2.cvtColor(strip, cv2.COLOR_BGR2GRAY))
    mean = cv2.blur(grey, _WINDOW, borderType=cv2.BORDER_REFLECT)
    variance = (cv2.blur(grey * grey, _WINDOW, borderType=cv2.BORDER_REFLECT) - mean * mean).ravel()
    # The mean, not a median: dark frames hold few grey levels and a median jumps between them. The
    # largest tenth is left out: a wire or an edge crossing the strip is not noise.
    v = np.sort(variance)[: max(int(0.9 * variance.size), 1)]
    return float(max(v.mean(), 0.0))


def _halved(grey: np.ndarray) -> np.ndarray:
    """Half the size, each pixel the mean of four: crystals are larger than two pixels, the sensor's noise
    is not, so a soft or noisy lens keeps their texture above its noise."""
    h, w = grey.shape[0] // 2 * 2, grey.shape[1] // 2 * 2
    return cv2.resize(grey[:h, :w], (w // 2, h // 2), interpolation=cv2.INTER_AREA).astype(np.float32)
