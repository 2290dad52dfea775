"""Augmentations that keep the physics: small camera shifts, sensor noise and JPEG re-encoding.

Colour is the temperature cue (blue fades, red saturates as the sample glows), so nothing here changes
colour or brightness: no jitter, no flips of the channel order, and noise that averages to zero.
"""

from dataclasses import dataclass

import cv2
import numpy as np
import torch


def shift_images(images: np.ndarray, offsets: np.ndarray) -> np.ndarray:
    """N x H x W x 3 uint8 moved by whole pixels (offsets N x 2: dy, dx); edges repeat the border pixels,
    which is what a camera that moved slightly would see of a smooth furnace wall."""
    n, h, w = images.shape[:3]
    out = np.empty_like(images)
    rows = np.arange(h)
    cols = np.arange(w)
    for i in range(n):
        dy, dx = int(offsets[i, 0]), int(offsets[i, 1])
        out[i] = images[i][np.clip(rows - dy, 0, h - 1)][:, np.clip(cols - dx, 0, w - 1)]
    return out


def jpeg_reencode(image: np.ndarray, quality: int) -> np.ndarray:
    """One H x W x 3 uint8 picture through a JPEG encoder and back: the recorder's compression artefacts."""
    ok, data = cv2.imencode(".jpg", image, [cv2.IMWRITE_JPEG_QUALITY, int(quality)])
    if not ok:
        raise ValueError("JPEG encoding failed")
    # cv2 treats the array as BGR both ways, so the channel order comes back unchanged.
    return cv2.imdecode(data, cv2.IMREAD_COLOR)


def add_sensor_noise(
    x: torch.Tensor, sigma: float, std: tuple[float, float, float], generator: torch.Generator
) -> torch.Tensor:
    """Gaussian noise of `sigma` grey levels on a normalised N x 3 x H x W batch. Added after normalising, so
    nothing is clipped at 0 or 255: a dark blue channel keeps its mean (clipping would brighten it)."""
    if sigma <= 0:
        return x
    scale = torch.tensor(std, dtype=x.dtype).view(1, 3, 1, 1) * 255.0
    noise = torch.randn(x.shape, generator=generator, dtype=x.dtype)
    return x + noise * (sigma / scale)


@dataclass(frozen=True, slots=True)
class Augmentation:
    """The uint8 part of the augmentation (shift, JPEG); sensor noise follows on the normalised tensor."""

    shift_px: int = 0  # largest shift in each direction, px of the network input
    jpeg_probability: float = 0.0
    jpeg_quality: tuple[int, int] = (60, 95)  # drawn uniformly, both ends included

    @property
    def active(self) -> bool:
        return self.shift_px > 0 or self.jpeg_probability > 0

    def __call__(self, images: np.ndarray, rng: np.random.Generator) -> np.ndarray:
        """N x H x W x 3 uint8 -> the same shape and dtype, each picture augmented on its own."""
        n = images.shape[0]
        # Draw every random number whatever is switched on, so one setting does not reshuffle the others.
        offsets = rng.integers(-self.shift_px, self.shift_px + 1, size=(n, 2))
        recode = rng.random(n) < self.jpeg_probability
        qualities = rng.integers(self.jpeg_quality[0], self.jpeg_quality[1] + 1, size=n)
        out = shift_images(images, offsets) if self.shift_px > 0 else images.copy()
        for i in np.flatnonzero(recode):
            out[i] = jpeg_reencode(out[i], int(qualities[i]))
        return out
