import math

import cv2
import numpy as np
import pytest

from monitor.config.overlay import Box
from monitor.nets import image_metrics


@pytest.fixture
def picture() -> np.ndarray:
    """A smooth colour gradient with a bright disc: structure for SSIM, no flat 0 or 255 areas."""
    y, x = np.mgrid[0:96, 0:128]
    img = np.stack([40 + x, 60 + y, 200 - x], axis=-1).astype(np.float64)
    img[(x - 64) ** 2 + (y - 48) ** 2 < 20**2] += 40
    return np.clip(img, 0, 255).astype(np.uint8)


def noisy(image: np.ndarray, sigma: float, seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    return np.clip(image + rng.normal(0, sigma, image.shape), 0, 255).round().astype(np.uint8)


def test_identical_images_score_perfectly(picture: np.ndarray) -> None:
    assert image_metrics.psnr(picture, picture.copy()) == math.inf
    assert image_metrics.ssim(picture, picture.copy()) == pytest.approx(1.0)
    assert image_metrics.mean_abs_error(picture, picture.copy()) == 0.0


def test_psnr_of_a_constant_offset(picture: np.ndarray) -> None:
    shifted = np.clip(picture.astype(int) + 10, 0, 255).astype(np.uint8)
    assert np.all(shifted.astype(int) - picture == 10)  # no clipping in this picture
    assert image_metrics.psnr(picture, shifted) == pytest.approx(20 * math.log10(255 / 10), abs=1e-6)
    assert image_metrics.mean_abs_error(picture, shifted) == pytest.approx(10.0)


@pytest.mark.parametrize(
    "metric, better_is_higher",
    [(image_metrics.psnr, True), (image_metrics.ssim, True), (image_metrics.mean_abs_error, False)],
)
def test_more_noise_scores_worse(picture: np.ndarray, metric, better_is_higher: bool) -> None:
    scores = [metric(picture, noisy(picture, sigma)) for sigma in (2.0, 8.0, 24.0)]
    expected = sorted(scores, reverse=better_is_higher)
    assert scores == expected and len(set(scores)) == 3


def test_ssim_penalises_blur_more_than_a_small_brightness_shift(picture: np.ndarray) -> None:
    blurred = cv2.GaussianBlur(picture, (0, 0), 3.0)
    brighter = np.clip(picture.astype(int) + 3, 0, 255).astype(np.uint8)
    assert image_metrics.ssim(picture, brighter) > image_metrics.ssim(picture, blurred)


def test_only_the_region_counts(picture: np.ndarray) -> None:
    damaged = picture.copy()
    damaged[:, :64] = 0  # the left half only
    right = Box(x=64, y=10, width=64, height=50)
    left = Box(x=0, y=10, width=64, height=50)
    assert image_metrics.psnr(picture, damaged, right) == math.inf
    assert image_metrics.ssim(picture, damaged, right) == pytest.approx(1.0)
    assert image_metrics.psnr(picture, damaged, left) < 20
    assert image_metrics.crop(picture, right).shape == (50, 64, 3)


@pytest.mark.parametrize(
    "b, box",
    [
        (np.zeros((96, 128, 3), np.uint8), Box(x=100, y=0, width=40, height=10)),  # outside
        (np.zeros((96, 120, 3), np.uint8), None),  # another shape
        (np.zeros((96, 128, 3), np.float32), None),  # not 8-bit
    ],
)
def test_bad_inputs_are_refused(picture: np.ndarray, b: np.ndarray, box: Box | None) -> None:
    with pytest.raises(ValueError):
        image_metrics.psnr(picture, b, box)
