"""Augmentations keep the physics: shifts move content, noise and JPEG keep the colour on average."""

import numpy as np
import pytest
import torch

from monitor.nets.augment import Augmentation, add_sensor_noise, jpeg_reencode, shift_images


def _scene(n: int = 4, h: int = 48, w: int = 64) -> np.ndarray:
    """Smooth coloured pictures like a glowing furnace: a dark blue channel, bright red, a hot centre."""
    rng = np.random.default_rng(0)
    yy, xx = np.mgrid[0:h, 0:w]
    glow = np.exp(-(((xx - w / 2) / (0.4 * w)) ** 2 + ((yy - h / 2) / (0.4 * h)) ** 2))
    base = np.stack([170 * glow + 40, 80 * glow + 20, 4 + 2 * glow], axis=-1)  # R, G, B
    images = base[None] + rng.normal(0, 2, (n, h, w, 3))
    return np.clip(images, 0, 255).astype(np.uint8)


def test_a_shift_moves_the_content() -> None:
    images = np.zeros((2, 20, 30, 3), np.uint8)
    images[:, 10, 10] = (200, 100, 50)
    out = shift_images(images, np.array([[2, -3], [0, 0]]))
    assert tuple(out[0, 12, 7]) == (200, 100, 50)
    assert out[0, 10, 10].sum() == 0
    np.testing.assert_array_equal(out[1], images[1])


def test_a_shift_repeats_the_border_instead_of_painting_black() -> None:
    images = np.full((1, 8, 8, 3), 90, np.uint8)
    out = shift_images(images, np.array([[3, 3]]))
    assert out.min() == 90


def test_noise_keeps_the_mean_even_on_a_dark_channel() -> None:
    std = (0.2, 0.2, 0.01)  # a near-black blue channel: clipping at 0 would brighten it
    x = torch.zeros(8, 3, 48, 64)
    noisy = add_sensor_noise(x, 3.0, std, torch.Generator().manual_seed(0))
    assert noisy.std() > 0.01
    for c in range(3):
        assert abs(float(noisy[:, c].mean())) < 0.02 * float(noisy[:, c].std())
    # sigma is in grey levels whatever the normalisation
    assert float(noisy[:, 2].std()) * std[2] * 255 == pytest.approx(3.0, rel=0.05)


def test_zero_noise_is_no_change() -> None:
    x = torch.randn(2, 3, 4, 4)
    assert add_sensor_noise(x, 0.0, (0.5, 0.5, 0.5), torch.Generator()) is x


def test_jpeg_keeps_shape_dtype_channel_order_and_colour() -> None:
    image = _scene(1)[0]
    out = jpeg_reencode(image, 60)
    assert out.shape == image.shape and out.dtype == np.uint8
    assert not np.array_equal(out, image)
    np.testing.assert_allclose(out.reshape(-1, 3).mean(0), image.reshape(-1, 3).mean(0), atol=1.5)


def test_no_colour_change_on_average() -> None:
    images = _scene(16)
    augment = Augmentation(shift_px=3, jpeg_probability=1.0, jpeg_quality=(60, 95))
    out = augment(images, np.random.default_rng(1))
    assert out.shape == images.shape and out.dtype == np.uint8
    assert not np.array_equal(out, images)
    before = images.reshape(-1, 3).astype(float).mean(0)
    after = out.reshape(-1, 3).astype(float).mean(0)
    np.testing.assert_allclose(after, before, atol=1.5)
    # the colour cue itself: the blue channel stays near black, red stays on top
    assert after[2] < 10 and after[0] > after[1] > after[2]


def test_same_seed_same_augmentation_and_off_is_a_copy() -> None:
    images = _scene(4)
    augment = Augmentation(shift_px=2, jpeg_probability=0.5)
    a = augment(images, np.random.default_rng(7))
    b = augment(images, np.random.default_rng(7))
    np.testing.assert_array_equal(a, b)
    off = Augmentation()
    assert not off.active
    copy = off(images, np.random.default_rng(7))
    np.testing.assert_array_equal(copy, images)
    assert copy is not images
