"""The per-frame brightness normalisation: a camera gain drops out of the network's input, the overlay is
painted in a colour no gain moves, training and the runtime compute the same input, and the manifest keeps
the setting."""

from pathlib import Path

import numpy as np
import pytest
import torch

from monitor.config import parse_config
from monitor.config.overlay import Box
from monitor.ingest.loader import load_frame
from monitor.nets.augment import apply_camera_gain
from monitor.nets.dataset import from_tensor, prepare, to_tensor
from monitor.nets.labels import channel_stats, load_inputs
from monitor.nets.manifest import InputSpec, read_manifest, write_manifest
from monitor.nets.resnet_heads import ResNetHeads
from monitor.nets.runtime import build_model_step

OVERLAY = Box(x=0, y=0, width=40, height=20)


def _furnace(h: int = 96, w: int = 128, seed: int = 0) -> np.ndarray:
    """A BGR frame like a cooling melt: dim, a glowing spot, no channel near 255 (gains up to 2 fit)."""
    rng = np.random.default_rng(seed)
    yy, xx = np.mgrid[0:h, 0:w]
    spot = np.exp(-(((xx - 0.6 * w) / (0.2 * w)) ** 2 + ((yy - 0.5 * h) / (0.2 * h)) ** 2))
    bgr = np.stack([20 + 10 * spot, 45 + 40 * spot, 60 + 60 * spot], axis=-1) + rng.normal(0, 1.5, (h, w, 3))
    return np.clip(bgr, 0, 255).astype(np.uint8)


def _gained(image: np.ndarray, gain: float) -> np.ndarray:
    return apply_camera_gain(image[None], np.full((1, 3), gain))[0]


def _spec(level: str) -> InputSpec:
    return InputSpec(
        width=64, height=48, blank=(OVERLAY,), level=level, mean=(1.0, 0.8, 0.4), std=(0.3, 0.2, 0.1)
    )


@pytest.mark.parametrize("gain", [0.7, 1.3, 1.9])
def test_a_camera_gain_drops_out_of_the_input(gain: float) -> None:
    spec = _spec("frame_median")
    frame = _furnace()
    x = to_tensor(prepare(frame, spec)[None], spec)
    y = to_tensor(prepare(_gained(frame, gain), spec)[None], spec)
    # within the 8-bit rounding of the gained frame (0.3 grey levels RMS on a blue channel near 20)
    change = float((x - y).abs().mean())
    assert change < 0.05 * float(x.abs().mean())
    absolute = _spec("absolute")
    xa = to_tensor(prepare(frame, absolute)[None], absolute)
    ya = to_tensor(prepare(_gained(frame, gain), absolute)[None], absolute)
    assert float((xa - ya).abs().mean()) > 3 * change  # what the old input did


def test_the_colour_ratios_stay_in_the_input() -> None:
    """Dividing by one number per frame keeps which channel is brighter and by how much."""
    spec = _spec("frame_median").model_copy(update={"mean": (0.0, 0.0, 0.0), "std": (1.0, 1.0, 1.0)})
    frame = _furnace()
    x = to_tensor(prepare(frame, spec)[None], spec)[0, :, 20:, :]  # below the painted overlay
    rgb = prepare(frame, spec)[20:].reshape(-1, 3).astype(float).mean(0)
    means = x.mean(dim=(1, 2)).numpy()
    np.testing.assert_allclose(means / means[0], rgb / rgb[0], rtol=1e-3)
    assert 0.5 < float(x.mean(dim=0).median()) < 1.5  # the median grey is the unit


def test_the_overlay_is_painted_black_under_frame_levels_and_grey_otherwise() -> None:
    frame = _furnace(seed=1)
    big = InputSpec(width=128, height=96, blank=(OVERLAY,), level="frame_median")
    assert prepare(frame, big)[:20, :40].max() == 0  # black x any gain = black: it cannot tell the gain
    grey = big.model_copy(update={"level": "absolute"})
    assert (prepare(frame, grey)[:20, :40] == 128).all()


def test_a_black_frame_is_not_blown_up() -> None:
    spec = _spec("frame_median").model_copy(update={"mean": (0.0, 0.0, 0.0), "std": (1.0, 1.0, 1.0)})
    dark = np.zeros((1, 48, 64, 3), np.uint8)
    dark[0, 10, 10] = 1
    assert float(to_tensor(dark, spec).max()) <= 1.0 / 2.0 + 1e-6  # divided by the floor, 2 grey levels


def test_channel_stats_are_of_the_normalised_frames() -> None:
    spec = _spec("frame_median")
    images = np.stack([prepare(_furnace(seed=s), spec) for s in range(3)])
    mean, std = channel_stats(np.concatenate([images, apply_camera_gain(images, np.full((3, 3), 1.5))]), spec)
    unit = spec.model_copy(update={"mean": (0.0, 0.0, 0.0), "std": (1.0, 1.0, 1.0)})
    x = to_tensor(images, unit)
    np.testing.assert_allclose(mean, x.mean(dim=(0, 2, 3)).numpy(), rtol=0.01)
    np.testing.assert_allclose(std, x.std(dim=(0, 2, 3)).numpy(), rtol=0.05)


def test_only_absolute_inputs_can_be_turned_back_into_pictures() -> None:
    with pytest.raises(ValueError, match="absolute levels"):
        from_tensor(torch.zeros(1, 3, 4, 4), _spec("frame_median"))


def test_the_level_survives_the_manifest_round_trip(tmp_path: Path, tiny_models: Path) -> None:
    manifest = read_manifest(tiny_models / "temperature_progress", task="temperature_progress")
    assert manifest.input.level == "frame_median"  # the regressor's default
    assert read_manifest(tiny_models / "forecast", task="forecast").input.level == "absolute"
    write_manifest(tmp_path, manifest)
    assert read_manifest(tmp_path).input == manifest.input


def test_the_runtime_feeds_the_network_what_training_fed_it(tiny_models: Path, reference_run) -> None:
    config = parse_config({"models": {"enabled": True, "dir": str(tiny_models), "forecast": False}}, env={})
    stage = build_model_step(config.models, config.analytics)
    paths = [reference_run.out / f"{t:04d}.jpg" for t in (150, 450, 620)]
    regressor = stage.head("temperature_progress").model
    runtime = regressor.inputs([load_frame(p, i).image for i, p in enumerate(paths)])
    spec = regressor.spec
    training = to_tensor(load_inputs(paths, spec, progress=False), spec).numpy()
    np.testing.assert_array_equal(runtime, training)


def test_an_untrained_network_already_sees_a_gain_changed_frame_as_the_same_frame() -> None:
    """Random weights respond to any change of their input, so this is a test of the input, not of a network
    that happens to output a constant: with absolute levels the same network's outputs move."""
    torch.manual_seed(0)
    net = ResNetHeads(colour_bins=8, hidden=16).eval()
    frame = _furnace()
    moved = {}
    for level in ("frame_median", "absolute"):
        spec = _spec(level)
        with torch.no_grad():
            a = net(to_tensor(prepare(frame, spec)[None], spec))
            b = net(to_tensor(prepare(_gained(frame, 1.5), spec)[None], spec))
        moved[level] = float((a - b).abs().max() / a.abs().max())
    assert moved["frame_median"] < 0.02
    assert moved["absolute"] > 10 * moved["frame_median"]
