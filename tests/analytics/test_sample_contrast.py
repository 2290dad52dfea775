"""The sample contrast (features.sample_contrast_of): a channel votes only while it scales with the gain."""

import math

import numpy as np

from monitor.analytics.features import sample_contrast_of
from monitor.config.overlay import Box

BOX = Box(x=80, y=60, width=80, height=60)  # in the downscaled frame: downscale 1


def frame(gain: float, *, rest_blue: float = 12.0) -> np.ndarray:
    """A scene (B, G, R) seen at `gain`: a dim blue everywhere, and in the sample box a red whose brightest
    40 % of pixels (a glowing spot) reach white once the gain passes 1.06 while the box's mean stays below
    235; the same noise at every gain, so only the gain and the clipping differ."""
    rng = np.random.default_rng(0)
    scene = np.empty((180, 240, 3))
    scene[..., 0] = rng.normal(rest_blue, 2.0, scene.shape[:2])
    scene[..., 1] = rng.normal(90.0, 3.0, scene.shape[:2])
    scene[..., 2] = rng.normal(120.0, 3.0, scene.shape[:2])
    box = scene[BOX.y : BOX.y + BOX.height, BOX.x : BOX.x + BOX.width]
    box[..., 0] = rng.normal(15.0, 2.0, box.shape[:2])
    box[..., 1] = rng.normal(120.0, 3.0, box.shape[:2])
    spot = rng.random(box.shape[:2]) < 0.4
    box[..., 2] = np.where(spot, rng.normal(240.0, 2.0, box.shape[:2]), rng.normal(150.0, 3.0, box.shape[:2]))
    return np.clip(np.rint(scene * gain), 0, 255).astype(np.uint8)


def test_a_channel_partly_white_in_the_box_does_not_vote_and_the_others_keep_their_ratio() -> None:
    """At gain 1.25 two in five of the box's red pixels are white, its mean 215: the clipped red ratio would
    fall 8 % with nothing happening at the sample (a false clouding step, or one hidden)."""
    b1, g1, r1 = sample_contrast_of(frame(1.0), BOX, 1)
    b2, g2, r2 = sample_contrast_of(frame(1.25), BOX, 1)
    assert all(math.isfinite(v) for v in (b1, g1, r1))
    assert math.isnan(r2)
    assert abs(b2 / b1 - 1) < 0.005 and abs(g2 / g1 - 1) < 0.005


def test_a_dim_channel_votes_while_its_means_stay_off_black() -> None:
    """Blue at a mean of 12 outside the box (under 1 % of its pixels near black) scales with the gain; at a
    mean of 6 much of it is black and it does not vote."""
    blue, _, _ = sample_contrast_of(frame(1.0), BOX, 1)
    assert abs(blue - 15.0 / 12.0) < 0.03
    dark, _, _ = sample_contrast_of(frame(1.0, rest_blue=6.0), BOX, 1)
    assert math.isnan(dark)
