"""How close a forecast frame is to the real one, on a region of the picture: PSNR, SSIM and mean absolute
error of 8-bit images (OpenCV's implementations, so the figures compare with other tools')."""

import math

import cv2
import numpy as np

from monitor.config.overlay import Box

PEAK = 255.0  # 8-bit images


def crop(image: np.ndarray, box: Box | None) -> np.ndarray:
    """The region of an H x W (x C) image; None = the whole image. A box reaching outside is an error."""
    if box is None:
        return image
    h, w = image.shape[:2]
    if box.x + box.width > w or box.y + box.height > h:
        raise ValueError(f"region {box.width}x{box.height}+{box.x}+{box.y} does not fit a {w}x{h} image")
    return image[box.y : box.y + box.height, box.x : box.x + box.width]


def _pair(a: np.ndarray, b: np.ndarray, box: Box | None) -> tuple[np.ndarray, np.ndarray]:
    if a.shape != b.shape or a.dtype != np.uint8 or b.dtype != np.uint8:
        raise ValueError(f"need two uint8 images of one shape, got {a.dtype}{a.shape} and {b.dtype}{b.shape}")
    return np.ascontiguousarray(crop(a, box)), np.ascontiguousarray(crop(b, box))


def psnr(a: np.ndarray, b: np.ndarray, box: Box | None = None) -> float:
    """Peak signal-to-noise ratio in dB; math.inf for identical regions (OpenCV would say 361.2)."""
    a, b = _pair(a, b, box)
    if np.array_equal(a, b):
        return math.inf
    return float(cv2.PSNR(a, b, PEAK))


def ssim(a: np.ndarray, b: np.ndarray, box: Box | None = None) -> float:
    """Structural similarity (Gaussian 11x11 window), the mean over the colour channels; 1 = identical."""
    a, b = _pair(a, b, box)
    channels = 1 if a.ndim == 2 else a.shape[2]
    per_channel, _ = cv2.quality.QualitySSIM_compute(a, b)
    return float(np.mean(per_channel[:channels]))


def mean_abs_error(a: np.ndarray, b: np.ndarray, box: Box | None = None) -> float:
    """Mean absolute difference in grey levels (0..255)."""
    a, b = _pair(a, b, box)
    return float(cv2.absdiff(a, b).mean())
