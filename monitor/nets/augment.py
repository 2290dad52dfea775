"""Augmentations that keep the physics: small camera shifts, sensor noise, JPEG re-encoding, and what a
real camera does to a frame without the furnace changing: its gain (auto exposure steps, flicker) and a
slightly different white balance.

Colour is the temperature cue (blue fades, red saturates as the sample glows): the colour *ratios* of the
glow, which a gain change keeps (up to clipping at 255) and a white balance shifts only a little. So the
gain may vary widely, the white balance only by a few per cent, and nothing swaps or inverts channels.
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


def apply_camera_gain(images: np.ndarray, factors: np.ndarray) -> np.ndarray:
    """N x H x W x 3 uint8 times per-frame, per-channel factors (N x 3), rounded and clipped at 255 as the
    camera's 8-bit output is. The stored frames are already clipped, so a channel saturated before stays
    saturated: the same as a real gain step where the sensor saturated first."""
    scaled = images.astype(np.float32) * factors[:, None, None, :].astype(np.float32)
    return np.clip(np.rint(scaled), 0, 255).astype(np.uint8)


def add_sensor_noise(x: torch.Tensor, sigma: float, generator: torch.Generator) -> torch.Tensor:
    """Gaussian noise of `sigma` grey levels on an N x 3 x H x W batch of 0..1 values (before the network's
    normalisation). Not clipped at 0 or 1: a dark blue channel keeps its mean (clipping would brighten it)."""
    if sigma <= 0:
        return x
    noise = torch.randn(x.shape, generator=generator, dtype=x.dtype)
    return x + noise * (sigma / 255.0)


@dataclass(frozen=True, slots=True)
class Augmentation:
    """The uint8 part of the augmentation (camera gain and white balance, shift, JPEG); sensor noise follows
    on the float tensor (add_sensor_noise)."""

    shift_px: int = 0  # largest shift in each direction, px of the network input
    jpeg_probability: float = 0.0
    jpeg_quality: tuple[int, int] = (60, 95)  # drawn uniformly, both ends included
    gain: tuple[float, float] = (1.0, 1.0)  # global gain, drawn log-uniformly (as likely x0.8 as x1.25)
    white_balance: float = 0.0  # largest relative change of each channel's own gain, e.g. 0.05 = +-5 %
    flicker: float = 0.0  # largest extra global gain of the light (mains flicker), e.g. 0.04 = +-4 %

    def __post_init__(self) -> None:
        if not 0 < self.gain[0] <= self.gain[1]:
            raise ValueError(f"gain range must be 0 < low <= high, got {self.gain}")
        if not (0 <= self.white_balance < 1 and 0 <= self.flicker < 1):
            raise ValueError("white_balance and flicker must be in [0, 1)")

    @property
    def changes_gain(self) -> bool:
        return self.gain != (1.0, 1.0) or self.white_balance > 0 or self.flicker > 0

    @property
    def active(self) -> bool:
        return self.shift_px > 0 or self.jpeg_probability > 0 or self.changes_gain

    def gain_factors(self, n: int, rng: np.random.Generator) -> np.ndarray:
        """N x 3 per-channel multipliers: global gain x flicker x white balance."""
        low, high = np.log(self.gain[0]), np.log(self.gain[1])
        gain = np.exp(rng.uniform(low, high, size=(n, 1)))
        flicker = 1.0 + rng.uniform(-self.flicker, self.flicker, size=(n, 1))
        balance = 1.0 + rng.uniform(-self.white_balance, self.white_balance, size=(n, 3))
        return gain * flicker * balance

    def __call__(self, images: np.ndarray, rng: np.random.Generator) -> np.ndarray:
        """N x H x W x 3 uint8 -> the same shape and dtype, each picture augmented on its own."""
        n = images.shape[0]
        # Draw every random number whatever is switched on, so one setting does not reshuffle the others.
        offsets = rng.integers(-self.shift_px, self.shift_px + 1, size=(n, 2))
        recode = rng.random(n) < self.jpeg_probability
        qualities = np.asarray(rng.integers(self.jpeg_quality[0], self.jpeg_quality[1] + 1, size=n))
        factors = self.gain_factors(n, rng)
        # The gain acts in the camera, before its JPEG encoder; the shift is geometry and commutes with it.
        out = apply_camera_gain(images, factors) if self.changes_gain else images.copy()
        if self.shift_px > 0:
            out = shift_images(out, offsets)
        for i in np.flatnonzero(recode).tolist():
            out[i] = jpeg_reencode(out[i], int(qualities[i]))
        return out
