"""Augmentations keep the physics: shifts move content, noise and JPEG keep the colour on average."""

import numpy as np
import pytest
import torch

from monitor.nets.augment import (
    Augmentation,
    add_sensor_noise,
    apply_camera_gain,
    jpeg_reencode,
    shift_images,
)


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
    x = torch.zeros(8, 3, 48, 64)  # black: clipping at 0 would brighten it
    noisy = add_sensor_noise(x, 3.0, torch.Generator().manual_seed(0))
    for c in range(3):
        assert abs(float(noisy[:, c].mean())) < 0.02 * float(noisy[:, c].std())
        # sigma is in grey levels of the 0..1 picture
        assert float(noisy[:, c].std()) * 255 == pytest.approx(3.0, rel=0.05)


def test_zero_noise_is_no_change() -> None:
    x = torch.rand(2, 3, 4, 4)
    assert add_sensor_noise(x, 0.0, torch.Generator()) is x


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


def test_camera_gain_multiplies_and_clips_at_255() -> None:
    images = np.array([[[[10, 100, 200]]], [[[10, 100, 200]]]], np.uint8)  # two 1x1 frames, RGB
    out = apply_camera_gain(images, np.array([[1.5, 1.5, 1.5], [0.5, 1.0, 2.0]]))
    assert out.dtype == np.uint8
    assert tuple(out[0, 0, 0]) == (15, 150, 255)  # 300 clipped: the sensor saturates
    assert tuple(out[1, 0, 0]) == (5, 100, 255)


def test_gain_augmentation_keeps_the_colour_ratios_of_unsaturated_pixels() -> None:
    images = _scene(32) // 2  # red at most ~110: below 255 / 1.6, so nothing clips
    augment = Augmentation(gain=(0.6, 1.6))  # no white balance, no flicker: one factor per frame
    out = augment(images, np.random.default_rng(3))
    before = images.reshape(32, -1, 3).astype(float).mean(1)
    after = out.reshape(32, -1, 3).astype(float).mean(1)
    gains = after[:, 0] / before[:, 0]
    assert gains.min() < 0.75 and gains.max() > 1.35  # the range is used, both ways
    assert gains.min() >= 0.6 - 0.01 and gains.max() <= 1.6 + 0.01
    # green/red of each frame is kept within rounding: the temperature cue survives
    np.testing.assert_allclose(after[:, 1] / after[:, 0], before[:, 1] / before[:, 0], rtol=0.02)


def test_white_balance_and_flicker_stay_within_their_bounds() -> None:
    augment = Augmentation(white_balance=0.03, flicker=0.04)
    factors = augment.gain_factors(2000, np.random.default_rng(0))
    ratios = factors / factors[:, :1]  # each channel against red: only the white balance moves these
    assert ratios.min() >= 0.97 / 1.03 - 1e-9 and ratios.max() <= 1.03 / 0.97 + 1e-9
    assert ratios.std() > 0.01
    assert factors.min() >= 0.96 * 0.97 - 1e-9 and factors.max() <= 1.04 * 1.03 + 1e-9


def test_gain_augmentation_is_deterministic_per_seed_and_leaves_the_rest_as_it_was() -> None:
    images = _scene(6)
    with_gain = Augmentation(
        shift_px=2, jpeg_probability=0.5, gain=(0.6, 1.6), white_balance=0.02, flicker=0.04
    )
    a = with_gain(images, np.random.default_rng(5))
    np.testing.assert_array_equal(a, with_gain(images, np.random.default_rng(5)))
    assert not np.array_equal(a, with_gain(images, np.random.default_rng(6)))
    # the gain's random numbers are drawn after the shift's and JPEG's: those stay what they were
    plain = Augmentation(shift_px=2)(images, np.random.default_rng(5))
    shifted_only = Augmentation(shift_px=2, gain=(1.0, 1.0))(images, np.random.default_rng(5))
    np.testing.assert_array_equal(plain, shifted_only)


def test_a_bad_gain_range_is_refused() -> None:
    with pytest.raises(ValueError, match="gain range"):
        Augmentation(gain=(1.5, 1.0))
