"""The temperature/progress recipe on the reference run, tiny: 64x48 input, a subset of frames, few epochs."""

import dataclasses
import json

import numpy as np
import pytest
import torch
from pydantic import ValidationError

from monitor.config.overlay import Box
from monitor.nets import regressor_train
from monitor.nets.labels import LabelledRun, load_inputs
from monitor.nets.manifest import InputSpec, Manifest, ModelError, Split, TargetScale
from monitor.nets.recipe import TrainedModel
from monitor.nets.regressor import (
    RegressorOptions,
    decode_outputs,
    evaluate_regressor,
    regression_loss,
    target_scales,
)
from monitor.nets.regressor_train import train_regressor
from monitor.nets.split import BlockSplit, RunSplit

BLANK = (Box(x=0, y=0, width=101, height=55),)
TINY = {"width": 64, "height": 48, "batch_size": 16, "jpeg_probability": 0.5, "head_steps": 300}
KEYS = {"mae_t1_c", "rmse_t1_c", "mae_progress_pct", "rmse_progress_pct", "n_t1", "n_progress"}
CPU = torch.device("cpu")


def _subset(run: LabelledRun, every: int = 3) -> tuple[list[RunSplit], Split]:
    """Time blocks as `train` would make them, with only every n-th frame: the same story, faster."""
    train, heldout = BlockSplit().masks(run.times)
    part = RunSplit(run, np.flatnonzero(train)[::every], np.flatnonzero(heldout)[::every])
    split = Split(
        method="time_blocks",
        block_s=60.0,
        holdout_every=4,
        gap_s=5.0,
        train_frames=part.train.size,
        heldout_frames=part.heldout.size,
    )
    return [part], split


@pytest.fixture(scope="module")
def trained(truth_run: LabelledRun) -> TrainedModel:
    parts, split = _subset(truth_run)
    options = RegressorOptions(**TINY, epochs=3, stage_head=True)
    return train_regressor(parts, split, options, blank=BLANK, device=CPU, progress=False)


def test_training_lowers_the_loss_and_beats_the_mean(trained: TrainedModel) -> None:
    history = trained.history
    assert [h.epoch for h in history] == [1, 2, 3]
    assert history[-1].train_loss < history[0].train_loss
    assert history[-1].heldout_loss is not None and history[-1].heldout_loss < history[0].heldout_loss
    m, b = trained.manifest.metrics, trained.manifest.baselines
    assert m["mae_t1_c"] < 0.5 * b["mae_t1_c"]
    assert not trained.net.training


def test_the_manifest_validates_and_holds_every_metric_and_baseline(trained: TrainedModel) -> None:
    manifest = Manifest.model_validate(json.loads(trained.manifest.model_dump_json()))
    assert KEYS | {"stage_accuracy"} <= manifest.metrics.keys()
    assert manifest.metrics.keys() == manifest.baselines.keys()
    assert manifest.metrics["n_t1"] == manifest.baselines["n_t1"] == manifest.split.heldout_frames
    assert manifest.task == "temperature_progress" and manifest.name == "temperature_progress"
    assert manifest.architecture.name == "resnet18_heads"
    assert manifest.architecture.params["stage_classes"] == 6
    assert [(t.name, t.unit) for t in manifest.targets] == [("t1_c", "degC"), ("progress_pct", "%")]
    assert (manifest.input.width, manifest.input.height, manifest.input.blank) == (64, 48, BLANK)
    assert manifest.input.mean != (0.5, 0.5, 0.5)  # the training frames' own statistics
    assert {"seconds", "device", "epochs_run", "lr", "init_file"} <= manifest.training.keys()
    assert manifest.training["epochs_run"] == 3
    assert manifest.runs[0].frames == 562 and manifest.runs[0].labelled == 562


def test_evaluate_on_another_set_of_frames(trained: TrainedModel, truth_run: LabelledRun) -> None:
    idx = np.arange(0, 562, 40)
    spec = trained.manifest.input
    images = load_inputs([truth_run.paths[i] for i in idx], spec, progress=False)
    t1 = truth_run.t1_c[idx].copy()
    t1[:3] = np.nan  # flagged reads are left out of the temperature scores only
    result = evaluate_regressor(
        trained.net, spec, trained.manifest.targets, images, t1, truth_run.progress_pct[idx], CPU
    )
    assert result.metrics["n_t1"] == idx.size - 3 and result.metrics["n_progress"] == idx.size
    assert result.outputs.shape == (idx.size, 8)
    assert "stage_accuracy" not in result.metrics  # no stages given


class _Zeros(torch.nn.Module):
    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.zeros(x.shape[0], 2)


def test_a_net_that_predicts_the_mean_scores_the_baseline() -> None:
    rng = np.random.default_rng(0)
    t1, progress = rng.uniform(800, 1500, 20), rng.uniform(0, 100, 20)
    targets = target_scales(t1[:10], progress[:10])
    images = np.zeros((20, 48, 64, 3), np.uint8)

    spec = InputSpec(width=64, height=48)
    result = evaluate_regressor(_Zeros(), spec, targets, images, t1, progress, CPU)
    assert result.metrics == pytest.approx(result.baselines)
    assert result.baselines["mae_t1_c"] == pytest.approx(np.abs(t1 - t1[:10].mean()).mean())


def test_decode_outputs_inverts_the_standardisation() -> None:
    t1 = np.array([900.0, 1100.0, 1500.0])
    progress = np.array([0.0, 40.0, 100.0])
    targets = target_scales(t1, progress)
    z = torch.tensor(
        [
            [(a - targets[0].offset) / targets[0].scale, (b - targets[1].offset) / targets[1].scale]
            for a, b in zip(t1, progress, strict=True)
        ]
    )
    got_t1, got_progress = decode_outputs(z, targets)
    np.testing.assert_allclose(got_t1, t1, rtol=1e-5)
    np.testing.assert_allclose(got_progress, progress, atol=1e-3)
    # output column i belongs to targets[i], whatever the order; progress is clipped to 0..100
    beyond = torch.tensor([[10.0, 0.0], [-10.0, 0.0]])
    _, clipped = decode_outputs(beyond, tuple(reversed(targets)))
    assert clipped.tolist() == [100.0, 0.0]


def test_decode_outputs_needs_both_targets() -> None:
    with pytest.raises(ModelError, match="progress_pct"):
        decode_outputs(torch.zeros(1, 2), (TargetScale(name="t1_c", unit="degC", offset=0, scale=1),))


def test_nan_labels_are_masked_per_target() -> None:
    pred = torch.zeros(4, 2, requires_grad=True)
    y = torch.tensor([[float("nan"), 1.0], [float("nan"), 1.0], [2.0, float("nan")], [float("nan"), 0.0]])
    loss = regression_loss(pred, y, None, RegressorOptions(loss="mse"))
    loss.backward()
    assert torch.isfinite(loss)
    # each target averaged over its own labels: t1 (2^2) / 1 + progress (1 + 1 + 0) / 3
    assert loss.item() == pytest.approx(4.0 + 2.0 / 3.0)
    assert pred.grad is not None
    assert pred.grad[:2, 0].abs().sum() == 0 and pred.grad[2, 1] == 0
    assert pred.grad[2, 0] != 0 and pred.grad[0, 1] != 0


@pytest.mark.parametrize(("loss", "fitted"), [("l1", 0.0), ("mse", 0.25)])
def test_l1_fits_the_median_of_frames_that_look_alike(loss: str, fitted: float) -> None:
    """Frames with one picture and different labels (on the way up to the hold and on the hold): one shared
    output settles on the labels' median with L1, which the MAE rewards, and on their mean with mse."""
    y = torch.tensor([[0.0, 0.0], [0.0, 0.0], [0.0, 0.0], [1.0, 0.0]])
    guess = torch.full((1, 2), 0.5, requires_grad=True)
    optimiser = torch.optim.SGD([guess], lr=0.01)
    options = RegressorOptions(loss=loss)
    for _ in range(2000):
        optimiser.zero_grad()
        regression_loss(guess.expand(4, 2), y, None, options).backward()
        optimiser.step()
    assert float(guess[0, 0]) == pytest.approx(fitted, abs=0.02)


def test_l1_is_the_default_loss() -> None:
    assert RegressorOptions().loss == "l1"


def test_a_run_without_temperatures_still_trains_progress(truth_run: LabelledRun) -> None:
    blind = dataclasses.replace(truth_run, t1_c=np.full(len(truth_run.files), np.nan))
    parts, split = _subset(blind, every=6)
    options = RegressorOptions(**TINY, epochs=2)
    result = train_regressor(parts, split, options, blank=BLANK, device=CPU, progress=False)
    assert all(np.isfinite(h.train_loss) and np.isfinite(h.heldout_loss) for h in result.history)
    m = result.manifest.metrics
    assert m["n_t1"] == 0 and "mae_t1_c" not in m
    assert m["n_progress"] > 0 and np.isfinite(m["mae_progress_pct"])
    assert result.manifest.targets[0] == TargetScale(name="t1_c", unit="degC", offset=0.0, scale=1.0)


def test_same_seed_same_weights(truth_run: LabelledRun) -> None:
    parts, split = _subset(truth_run, every=12)
    options = RegressorOptions(**TINY, epochs=1, noise_sigma=2.0, shift_px=2)

    def weights(seed: int) -> dict[str, torch.Tensor]:
        chosen = options.model_copy(update={"seed": seed})
        return train_regressor(parts, split, chosen, blank=BLANK, device=CPU, progress=False).net.state_dict()

    first, again, other = weights(3), weights(3), weights(4)
    assert all(torch.equal(first[k], again[k]) for k in first)
    assert not torch.equal(first["regression.0.weight"], other["regression.0.weight"])


def test_the_head_refit_changes_only_the_head_and_fits_the_training_frames_closer(
    truth_run: LabelledRun,
) -> None:
    parts, split = _subset(truth_run, every=6)
    options = RegressorOptions(**{**TINY, "epochs": 1})

    def trained(head_steps: int) -> TrainedModel:
        chosen = options.model_copy(update={"head_steps": head_steps})
        return train_regressor(parts, split, chosen, blank=BLANK, device=CPU, progress=False)

    plain, refit = trained(0), trained(600)
    a, b = plain.net.state_dict(), refit.net.state_dict()
    assert all(torch.equal(a[k], b[k]) for k in a if k.startswith("trunk."))  # BN statistics included
    assert not torch.equal(a["regression.0.weight"], b["regression.0.weight"])

    rows = parts[0].train
    spec = plain.manifest.input
    images = load_inputs([truth_run.paths[i] for i in rows], spec, progress=False)

    def training_mae(model: TrainedModel) -> float:
        m = model.manifest
        ev = evaluate_regressor(model.net, spec, m.targets, images, truth_run.t1_c[rows],
                                truth_run.progress_pct[rows], CPU)  # fmt: skip
        return ev.metrics["mae_t1_c"]

    assert training_mae(refit) < training_mae(plain)
    assert refit.manifest.training["head_steps"] == 600


@pytest.mark.parametrize(
    "bad",
    [{"width": 8}, {"epochs": 0}, {"lr": 0}, {"scheduler": "step"}, {"jpeg_probability": 1.5}, {"colour": 1}],
)
def test_options_refuse_bad_values(bad: dict) -> None:
    with pytest.raises(ValidationError):
        RegressorOptions(**bad)


def test_too_few_training_frames_is_a_clear_error(truth_run: LabelledRun) -> None:
    part = RunSplit(truth_run, np.array([0]), np.array([1]))
    split = Split(method="time_blocks", train_frames=1, heldout_frames=1)
    with pytest.raises(ModelError, match="training frames"):
        train_regressor([part], split, RegressorOptions(**TINY), blank=BLANK, device=CPU, progress=False)


def test_early_stopping_keeps_the_best_held_out_epoch(
    truth_run: LabelledRun, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Held-out losses 3, 1, 2, 2.5 with patience 2: stop after epoch 4, keep epoch 2's weights."""
    scripted = iter([3.0, 1.0, 2.0, 2.5, 0.5, 0.5])
    weights: list[dict[str, torch.Tensor]] = []

    def heldout_loss(net, *args, **kwargs) -> tuple[float, dict[str, float]]:
        weights.append({k: v.detach().clone() for k, v in net.state_dict().items()})
        return next(scripted), {"mae_t1_c": 1.0}

    monkeypatch.setattr(regressor_train, "_heldout_loss", heldout_loss)
    parts, split = _subset(truth_run, every=6)
    options = RegressorOptions(**{**TINY, "epochs": 6, "patience": 2, "head_steps": 0})
    trained = train_regressor(parts, split, options, blank=BLANK, device=CPU, progress=False)
    assert [h.heldout_loss for h in trained.history] == [3.0, 1.0, 2.0, 2.5]
    assert trained.manifest.training["best_epoch"] == 2
    assert trained.manifest.training["epochs_run"] == 4
    kept = trained.net.state_dict()
    assert all(torch.equal(kept[k], weights[1][k]) for k in kept)
    assert not torch.equal(kept["regression.0.weight"], weights[3]["regression.0.weight"])


def test_without_patience_every_epoch_runs(truth_run: LabelledRun) -> None:
    parts, split = _subset(truth_run, every=6)
    options = RegressorOptions(**{**TINY, "epochs": 2, "head_steps": 0, "heldout_stride": 3})
    trained = train_regressor(parts, split, options, blank=BLANK, device=CPU, progress=False)
    assert [h.epoch for h in trained.history] == [1, 2]
    assert trained.manifest.training["best_epoch"] == 2
    # per epoch a third of the held-out frames are scored, at the end all of them
    assert trained.manifest.metrics["n_t1"] == parts[0].heldout.size


def test_the_head_refit_on_augmented_copies(truth_run: LabelledRun) -> None:
    parts, split = _subset(truth_run, every=6)

    def head(copies: int) -> torch.Tensor:
        options = RegressorOptions(**{**TINY, "epochs": 1, "head_steps": 200, "head_copies": copies})
        model = train_regressor(parts, split, options, blank=BLANK, device=CPU, progress=False)
        assert model.manifest.training["head_copies"] == copies
        assert np.isfinite(model.manifest.metrics["mae_t1_c"])
        return model.net.state_dict()["regression.0.weight"]

    plain, copies, again = head(0), head(2), head(2)
    assert torch.equal(copies, again)
    assert not torch.equal(plain, copies)
