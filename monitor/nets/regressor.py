"""The temperature/progress recipe: its options, the loss, the scoring of held-out frames against predicting
the training mean, and the decoding of the network's outputs the runtime needs. Training is in
regressor_train."""

import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

import numpy as np
import torch
import torch.nn.functional as F
from pydantic import BaseModel, ConfigDict, Field
from torch import nn

from monitor.nets.dataset import to_tensor
from monitor.nets.manifest import (
    InputSpec,
    Level,
    ModelError,
    TargetScale,
)
from monitor.records import Stage

log = logging.getLogger(__name__)

STAGES = tuple(Stage)  # stage head class i = STAGES[i]
TARGETS = ("t1_c", "progress_pct")  # regression output i = TARGETS[i]
UNITS = {"t1_c": "degC", "progress_pct": "%"}
EVAL_BATCH = 64


class RegressorOptions(BaseModel):
    """How the temperature/progress network is trained; saved flattened in the manifest."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    width: int = Field(320, ge=32, le=1024, description="Network input width, px.")
    height: int = Field(240, ge=32, le=768, description="Network input height, px.")
    epochs: int = Field(20, ge=1, le=1000, description="Passes over the training frames.")
    batch_size: int = Field(32, ge=2, le=1024, description="Frames per optimisation step.")
    lr: float = Field(2e-3, gt=0, le=1.0, description="Peak learning rate (AdamW).")
    weight_decay: float = Field(1e-4, ge=0, le=1.0, description="AdamW weight decay.")
    scheduler: Literal["onecycle", "cosine", "constant"] = Field(
        "onecycle", description="Learning-rate schedule over all steps."
    )
    # L1 fits the median where frames look alike but their labels differ (the way up to the hold and the hold
    # itself): the MAE the models are judged on is smallest there, where smooth_l1 or mse fit the mean
    # (held-out 1# MAE on three runs: 6.7-7.0 degC with smooth_l1, 4.5-5.3 with l1; see docs/models.md).
    loss: Literal["l1", "smooth_l1", "mse"] = Field(
        "l1", description="Regression loss on the standardised targets."
    )
    seed: int = Field(0, ge=0, description="Seeds weights, batch order and augmentation.")
    # A camera's auto exposure steps its gain by 10-30 % while the sample cools (issue 13): with absolute
    # levels a model trained on a fixed exposure reads every step as tens of degC. The colour ratios of the
    # glow survive a gain change, the brightness does not, so each frame is divided by its median grey.
    level: Level = Field(
        "frame_median",
        description="Brightness normalisation: frame_median divides each frame by its median grey level "
        "(camera gain drops out); absolute keeps the recorded brightness.",
    )
    gain_min: float = Field(0.6, gt=0, le=1, description="Lowest random camera gain (augmentation).")
    gain_max: float = Field(1.6, ge=1, le=4, description="Highest random camera gain (augmentation).")
    white_balance: float = Field(
        0.02, ge=0, lt=0.5, description="Largest random change of one channel's gain, relative."
    )
    flicker: float = Field(0.04, ge=0, lt=0.5, description="Largest random light flicker, relative.")
    shift_px: int = Field(2, ge=0, le=32, description="Largest random shift of the input, px of the input.")
    noise_sigma: float = Field(2.0, ge=0, le=50, description="Added sensor noise, grey levels.")
    jpeg_probability: float = Field(0.3, ge=0, le=1, description="Share of frames JPEG re-encoded.")
    jpeg_quality_min: int = Field(60, ge=5, le=95, description="Lowest JPEG quality drawn (highest 95).")
    stage_head: bool = Field(False, description="Also learn the stage (a classifier on the shared trunk).")
    stage_weight: float = Field(0.2, ge=0, le=10, description="Weight of the stage loss.")
    dropout: float = Field(0.0, ge=0, lt=1, description="Dropout before the heads.")
    colour_bins: int = Field(
        32, ge=0, le=256, description="Bins per channel of the colour histogram fed to the head; 0 = none."
    )
    hidden: int = Field(128, ge=0, le=4096, description="Hidden units of the regression head; 0 = linear.")
    head_steps: int = Field(
        3000,
        ge=0,
        le=100_000,
        description="After the epochs, steps refitting a fresh regression head on the frozen trunk's "
        "features of the training frames; 0 = keep the end-to-end head.",
    )
    head_lr: float = Field(3e-3, gt=0, le=1.0, description="Peak learning rate of the head refit (AdamW).")
    head_copies: int = Field(
        0,
        ge=0,
        le=16,
        description="Augmented copies of each training frame (camera gain, white balance, shift, noise, "
        "JPEG) whose features the head refit sees besides the frame itself; 0 = the frames as recorded.",
    )
    patience: int = Field(
        0,
        ge=0,
        le=1000,
        description="Early stopping: end training when the held-out loss has not improved for this many "
        "epochs, and keep the best epoch's weights; 0 = run every epoch and keep the last.",
    )
    heldout_stride: int = Field(
        1, ge=1, le=100, description="Score every n-th held-out frame after each epoch (all at the end)."
    )
    channels_last: bool = Field(True, description="channels_last memory (faster convolutions on CPU).")
    init_file: Path | None = Field(
        None, description="Local torchvision resnet18 state dict to start the trunk from; null = random."
    )


@dataclass(frozen=True, slots=True)
class Frames:
    """Prepared frames (N x H x W x 3 uint8 RGB) and their labels; NaN = no label."""

    images: np.ndarray
    t1: np.ndarray
    progress: np.ndarray
    stages: np.ndarray  # index into STAGES

    @staticmethod
    def concat(parts: "list[Frames]") -> "Frames":
        if not parts:
            return Frames(np.zeros((0, 1, 1, 3), np.uint8), np.zeros(0), np.zeros(0), np.zeros(0, int))
        return Frames(
            images=np.concatenate([p.images for p in parts]),
            t1=np.concatenate([p.t1 for p in parts]),
            progress=np.concatenate([p.progress for p in parts]),
            stages=np.concatenate([p.stages for p in parts]),
        )


@dataclass(frozen=True, slots=True)
class Evaluation:
    metrics: dict[str, float]
    baselines: dict[str, float]  # the same keys when predicting the training mean (the targets' offsets)
    outputs: torch.Tensor  # raw network outputs, for the caller's loss


def target_scales(t1: np.ndarray, progress: np.ndarray) -> tuple[TargetScale, ...]:
    """Offsets and scales from the training labels; a target without labels gets (0, 1) and is not learnt."""
    scales = []
    for name, values in zip(TARGETS, (t1, progress), strict=True):
        known = values[np.isfinite(values)]
        offset = float(known.mean()) if known.size else 0.0
        scale = float(known.std()) if known.size > 1 else 1.0
        scales.append(TargetScale(name=name, unit=UNITS[name], offset=offset, scale=max(scale, 1.0)))
    return tuple(scales)


def decode_outputs(out: torch.Tensor, targets: tuple[TargetScale, ...]) -> tuple[np.ndarray, np.ndarray]:
    """Raw outputs -> (1# in degC, progress in % clipped to 0..100); output column i is `targets[i]`."""
    column = {t.name: (i, t) for i, t in enumerate(targets)}
    missing = [name for name in TARGETS if name not in column]
    if missing:
        raise ModelError(f"the manifest has no target scale for {', '.join(missing)}")
    values = out.detach().float().cpu().numpy()
    decoded = []
    for name in TARGETS:
        i, scale = column[name]
        decoded.append(values[:, i] * scale.scale + scale.offset)
    return decoded[0], np.clip(decoded[1], 0.0, 100.0)


def regression_loss(
    out: torch.Tensor, y: torch.Tensor, stages: torch.Tensor | None, options: RegressorOptions
) -> torch.Tensor:
    """Each target averaged over the frames that have its label (NaN = none), summed; plus the stage loss."""
    mask = torch.isfinite(y)
    pred = out[:, : len(TARGETS)]
    y = torch.where(mask, y, pred.detach())  # any finite stand-in; masked out below
    if options.loss == "mse":
        per = F.mse_loss(pred, y, reduction="none")
    elif options.loss == "l1":
        per = F.l1_loss(pred, y, reduction="none")
    else:
        per = F.smooth_l1_loss(pred, y, reduction="none", beta=0.5)
    per = torch.where(mask, per, torch.zeros_like(per))
    loss = (per.sum(0) / mask.sum(0).clamp(min=1)).sum()
    if stages is not None and out.shape[1] > len(TARGETS):
        loss = loss + options.stage_weight * F.cross_entropy(out[:, len(TARGETS) :], stages)
    return loss


def predict(
    net: nn.Module,
    spec: InputSpec,
    images: np.ndarray,
    device: torch.device,
    *,
    forward: Callable[[torch.Tensor], torch.Tensor] | None = None,
) -> torch.Tensor:
    """Raw outputs (or what `forward` computes from a batch) for prepared frames, in eval mode and without
    gradients, on the CPU."""
    net.eval()
    outs = []
    with torch.no_grad():
        for start in range(0, len(images), EVAL_BATCH):
            x = to_tensor(images[start : start + EVAL_BATCH], spec).to(device)
            outs.append((net if forward is None else forward)(x).float().cpu())
    return torch.cat(outs) if outs else torch.zeros(0, len(TARGETS))


def _errors(pred: np.ndarray, truth: np.ndarray, key: str, count: str) -> dict[str, float]:
    known = np.isfinite(truth)
    result = {count: float(known.sum())}
    if known.any():
        err = pred[known] - truth[known]
        result |= {f"mae_{key}": float(np.abs(err).mean()), f"rmse_{key}": float(np.sqrt((err**2).mean()))}
    return result


def evaluate_regressor(
    net: nn.Module,
    spec: InputSpec,
    targets: tuple[TargetScale, ...],
    images: np.ndarray,
    t1: np.ndarray,
    progress: np.ndarray,
    device: torch.device,
    *,
    stages: Sequence[Stage] | None = None,
) -> Evaluation:
    """Scores of the network and of the predict-the-training-mean baseline on prepared frames: mae_/rmse_
    t1_c and progress_pct (left out when no frame has that label), counts n_t1 and n_progress, and
    stage_accuracy when the network has a stage head and `stages` are given."""
    out = predict(net, spec, images, device)
    t1_pred, progress_pred = decode_outputs(out, targets)
    by_name = {t.name: t for t in targets}
    # The baseline predicts the training mean everywhere: the targets' offsets are exactly that.
    mean_t1 = np.full(len(images), by_name["t1_c"].offset)
    mean_progress = np.full(len(images), by_name["progress_pct"].offset)
    metrics = _errors(t1_pred, t1, "t1_c", "n_t1") | _errors(
        progress_pred, progress, "progress_pct", "n_progress"
    )
    baselines = _errors(mean_t1, t1, "t1_c", "n_t1") | _errors(
        mean_progress, progress, "progress_pct", "n_progress"
    )
    if stages is not None and out.shape[1] > len(TARGETS) and len(stages):
        truth = stage_indices(stages)
        metrics["stage_accuracy"] = float((out[:, len(TARGETS) :].argmax(1).numpy() == truth).mean())
        # The best constant guess in hindsight (the commonest stage of these frames): a strict baseline.
        baselines["stage_accuracy"] = float(np.bincount(truth).max() / len(truth))
    return Evaluation(metrics=metrics, baselines=baselines, outputs=out)


def stage_indices(stages: Sequence[Stage]) -> np.ndarray:
    """Stages -> the stage head's class indices."""
    return np.array([STAGES.index(Stage(s)) for s in stages], dtype=np.int64)
