import dataclasses
from collections.abc import Iterator

import numpy as np
import pytest
import torch
from pydantic import ValidationError

from monitor.config.overlay import Box
from monitor.nets import forecast_train
from monitor.nets.dataset import to_tensor
from monitor.nets.forecast import (
    ForecastOptions,
    dt_scale_of,
    evaluate_forecast,
    forecast_input,
    forecast_pairs,
    forecast_spec,
    input_box,
)
from monitor.nets.forecast_train import train_forecast
from monitor.nets.labels import LabelledRun, load_inputs
from monitor.nets.lifecycle import load_model, save_model
from monitor.nets.manifest import InputSpec, Manifest, ModelError
from monitor.nets.recipe import TrainedModel
from monitor.nets.split import BlockSplit, split_runs

OVERLAY = (Box(x=0, y=0, width=101, height=55),)
SAMPLE = Box(x=370, y=345, width=285, height=155)
CPU = torch.device("cpu")
TINY = {"size": 64, "ngf": 8, "ndf": 8, "batch_size": 4, "lr": 2e-3}  # lr: visible learning in seconds


@pytest.fixture(scope="module", autouse=True)
def one_thread() -> Iterator[None]:
    # tiny convolutions gain nothing from a second thread, and on a shared 2-core machine the hand-offs
    # between threads cost more than the work
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


def time_slice(run: LabelledRun, start_s: float, stop_s: float) -> LabelledRun:
    """The frames of `run` from start_s up to stop_s: fewer frames to load."""
    k = slice(*np.searchsorted(run.times, [start_s, stop_s]))
    return dataclasses.replace(
        run,
        files=run.files[k],
        times=run.times[k],
        t1_c=run.t1_c[k],
        progress_pct=run.progress_pct[k],
        stages=run.stages[k],
        decoded=run.decoded[k],
    )


@pytest.fixture(scope="module")
def late_run(truth_run: LabelledRun) -> LabelledRun:
    """420..671 s: cooling, the crystallization start and the solid sample; 600..660 s is held out."""
    return time_slice(truth_run, 420.0, 700.0)


@pytest.fixture(scope="module")
def split(late_run: LabelledRun):
    return split_runs([late_run], [], BlockSplit())


@pytest.fixture(scope="module")
def recorded(split) -> tuple[TrainedModel, list[np.ndarray]]:
    """A tiny model trained for 3 epochs, and every batch of (i, j, dt) rows it was trained on."""
    parts, manifest_split = split
    seen: list[np.ndarray] = []
    real_batch = forecast_train._batch

    def spy(images, rows, *args, **kwargs):
        seen.append(rows.copy())
        return real_batch(images, rows, *args, **kwargs)

    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(forecast_train, "_batch", spy)
        model = train_forecast(
            parts,
            ForecastOptions(**TINY, epochs=3),
            split=manifest_split,
            blank=OVERLAY,
            sample_roi=SAMPLE,
            device=CPU,
            progress=False,
        )
    return model, seen


def test_options_derive_depth_and_refuse_what_does_not_fit() -> None:
    assert ForecastOptions().depth == 8
    assert ForecastOptions(size=64).depth == 6
    assert ForecastOptions(size=96).depth == 5  # a 3x3 bottleneck
    with pytest.raises(ValidationError):
        ForecastOptions(size=64, depth=7)
    with pytest.raises(ValidationError):
        ForecastOptions(colour_jitter=0.1)
    with pytest.raises(ValidationError):
        ForecastOptions(betas=(0.5, 1.0))
    with pytest.raises(ValidationError):
        ForecastOptions(dts=(0, 5))


def test_forecast_input_adds_the_scaled_dt_channel() -> None:
    x = torch.zeros(2, 3, 8, 8)
    same = forecast_input(x, 15.0, 30.0)
    each = forecast_input(x, torch.tensor([3.0, 30.0]), 30.0)
    assert same.shape == (2, 4, 8, 8) and torch.all(same[:, 3] == 0.5)
    assert torch.allclose(each[0, 3], torch.full((8, 8), 0.1)) and torch.all(each[1, 3] == 1.0)


def test_sample_box_maps_into_the_model_input() -> None:
    spec = forecast_spec(ForecastOptions())  # 384 px view at (320, 230) -> 256 px
    assert input_box(SAMPLE, spec) == Box(x=33, y=77, width=190, height=103)
    whole = InputSpec(width=256, height=256)
    assert input_box(SAMPLE, whole, (1024, 768)) == Box(x=92, y=115, width=72, height=52)
    with pytest.raises(ModelError):
        input_box(Box(x=0, y=0, width=50, height=50), spec)  # the overlay: outside the view


def test_pairs_are_dt_apart_and_stay_on_their_side() -> None:
    times = np.array([0, 1, 2, 3, 5, 6, 7, 8, 9, 10], dtype=float)  # 4 s is missing
    side = np.array([0, 1, 2, 3, 4, 5])  # 0..6 s
    assert forecast_pairs(times, side, 1).tolist() == [[0, 1], [1, 2], [2, 3], [4, 5]]
    assert forecast_pairs(times, side, 5).tolist() == [[0, 4], [1, 5]]
    assert forecast_pairs(times, side, 4).tolist() == [[1, 4], [2, 5]]  # not 0 -> 4 s: missing
    assert forecast_pairs(times, side, 7).shape == (0, 2)  # 7 s and more only beyond the side


def test_training_pairs_never_cross_the_split(split, recorded) -> None:
    (part,), _ = split
    _, seen = recorded
    rows = np.concatenate(seen)
    assert np.isin(rows[:, :2], part.train).all()
    assert set(rows[:, 2].tolist()) == {1, 5, 10, 30}
    dt = part.run.times[rows[:, 1]] - part.run.times[rows[:, 0]]
    assert np.array_equal(dt, rows[:, 2])


def test_manifest_is_complete_and_valid(split, recorded) -> None:
    (part,), manifest_split = split
    model, _ = recorded
    m = model.manifest
    assert Manifest.model_validate(m.model_dump()) == m
    assert (m.name, m.task, m.architecture.name) == ("forecast", "forecast", "unet_dt")
    assert m.split == manifest_split and m.input.width == 64 and m.input.blank == OVERLAY
    for dt in (1, 5, 10, 30):
        # scored on held-out pairs only
        assert m.metrics[f"pairs_dt{dt}"] == len(forecast_pairs(part.run.times, part.heldout, dt)) > 0
        for key in (f"psnr_dt{dt}", f"ssim_dt{dt}", f"l1_dt{dt}"):
            assert np.isfinite(m.metrics[key]) and np.isfinite(m.baselines[key])
    assert m.training["dt_scale"] == 30.0 and m.training["epochs_run"] == 3
    assert m.training["device"] == "cpu" and m.training["seconds"] > 0
    assert [h.epoch for h in model.history] == [1, 2, 3]
    assert all(h.heldout_loss is not None for h in model.history)
    assert {k for k, _ in model.history[0].extra} == {"adversarial", "discriminator"}
    assert not model.net.training


def test_training_beats_copy_last_on_training_pairs(split, recorded) -> None:
    # the untrained generator is exactly copy-last, so this is "L1 after < L1 before" on a fixed batch
    (part,), _ = split
    model, _ = recorded
    spec = model.manifest.input
    pairs = forecast_pairs(part.run.times, part.train, 30)[::4]
    images = load_inputs([part.run.paths[k] for k in pairs.ravel()], spec, progress=False)
    x, y = to_tensor(images[0::2], spec), to_tensor(images[1::2], spec)
    with torch.inference_mode():
        l1 = (model.net(forecast_input(x, 30.0, 30.0)) - y).abs().mean().item()
    assert l1 < (x - y).abs().mean().item()


def test_evaluation_scores_copy_last_as_its_own_baseline(split, recorded) -> None:
    (part,), _ = split
    model, _ = recorded
    spec = model.manifest.input
    images = load_inputs(part.run.paths, spec, progress=False)
    pairs = {5: forecast_pairs(part.run.times, part.heldout, 5), 2: np.zeros((0, 2), dtype=int)}
    identity = _Identity()
    metrics, baselines = evaluate_forecast(
        identity, images, pairs, spec=spec, roi=input_box(SAMPLE, spec), dt_scale=30.0, device=CPU
    )
    assert metrics["pairs_dt5"] == len(pairs[5]) and metrics["pairs_dt2"] == 0
    assert metrics["psnr_dt5"] == pytest.approx(baselines["psnr_dt5"])
    assert metrics["ssim_dt5"] == pytest.approx(baselines["ssim_dt5"])
    assert "psnr_dt2" not in metrics
    trained, copy_last = evaluate_forecast(
        model.net, images, pairs, spec=spec, roi=input_box(SAMPLE, spec), dt_scale=30.0, device=CPU
    )
    assert copy_last == baselines and trained["psnr_dt5"] != baselines["psnr_dt5"]


class _Identity(torch.nn.Module):
    """Copy-last as a network: the first three channels of its input."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x[:, :3]


def test_same_seed_same_weights(late_run: LabelledRun) -> None:
    # one epoch on 80 frames is enough to compare
    short, manifest_split = split_runs([time_slice(late_run, 580.0, 660.0)], [], BlockSplit(block_s=20.0))

    def weights(seed: int) -> dict[str, torch.Tensor]:
        model = train_forecast(
            short,
            ForecastOptions(**TINY, epochs=1, seed=seed),
            split=manifest_split,
            blank=OVERLAY,
            sample_roi=SAMPLE,
            device=CPU,
            progress=False,
        )
        return model.net.state_dict()

    first, again, other = weights(3), weights(3), weights(4)
    assert all(torch.equal(first[k], again[k]) for k in first)
    assert not all(torch.equal(first[k], other[k]) for k in first)


def test_the_manifest_rebuilds_the_trained_generator(recorded, tmp_path) -> None:
    model, _ = recorded
    save_model(tmp_path, model.net, model.manifest)
    net, manifest = load_model(tmp_path, task="forecast", device=CPU)
    x = forecast_input(torch.rand(1, 3, 64, 64) * 2 - 1, 10.0, dt_scale_of(manifest))
    with torch.inference_mode():
        assert torch.equal(net(x), model.net(x))
