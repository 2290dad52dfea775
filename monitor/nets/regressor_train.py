"""Training the temperature/progress network: ResNet18 heads on the training frames of labelled runs (one
trunk, standardised targets, NaN labels masked), scored each epoch on the held-out frames."""

import logging
import time

import numpy as np
import torch
from tqdm import tqdm

from monitor.config.overlay import Box
from monitor.nets.augment import Augmentation, add_sensor_noise
from monitor.nets.dataset import normalise_frames, to_unit
from monitor.nets.labels import channel_stats, load_inputs
from monitor.nets.manifest import (
    Architecture,
    InputSpec,
    Manifest,
    ModelError,
    Split,
    TargetScale,
    TrainingRun,
    current_versions,
)
from monitor.nets.recipe import UNSET_SHA256, EpochLog, TrainedModel, seed_everything
from monitor.nets.regressor import (
    EVAL_BATCH,
    STAGES,
    Frames,
    RegressorOptions,
    evaluate_regressor,
    predict,
    regression_loss,
    stage_indices,
    target_scales,
)
from monitor.nets.resnet_heads import ResNetHeads
from monitor.nets.split import RunSplit

log = logging.getLogger(__name__)


def _standardise(frames: Frames, targets: tuple[TargetScale, ...]) -> torch.Tensor:
    raw = np.stack([frames.t1, frames.progress], axis=1)
    offsets = np.array([t.offset for t in targets])
    scales = np.array([t.scale for t in targets])
    return torch.from_numpy((raw - offsets) / scales).float()  # NaN stays NaN, masked in the loss


def _load_frames(parts: list[RunSplit], spec: InputSpec, progress: bool) -> tuple[Frames, Frames]:
    """Each needed frame decoded and resized once; a run's training and held-out frames from one pass."""
    train: list[Frames] = []
    heldout: list[Frames] = []
    for part in parts:
        wanted = np.union1d(part.train, part.heldout).astype(int)
        if wanted.size == 0:
            continue
        images = load_inputs([part.run.paths[i] for i in wanted], spec, progress=progress)
        stage_index = stage_indices(part.run.stages)
        for idx, bucket in ((part.train, train), (part.heldout, heldout)):
            idx = np.asarray(idx, dtype=int)
            rows = np.searchsorted(wanted, idx)
            bucket.append(
                Frames(images[rows], part.run.t1_c[idx], part.run.progress_pct[idx], stage_index[idx])
            )
    return Frames.concat(train), Frames.concat(heldout)


def _scheduler(
    optimiser: torch.optim.Optimizer, options: RegressorOptions, steps: int
) -> torch.optim.lr_scheduler.LRScheduler:
    if options.scheduler == "onecycle":
        return torch.optim.lr_scheduler.OneCycleLR(optimiser, max_lr=options.lr, total_steps=steps)
    if options.scheduler == "cosine":
        return torch.optim.lr_scheduler.CosineAnnealingLR(optimiser, T_max=steps)
    return torch.optim.lr_scheduler.LambdaLR(optimiser, lambda _: 1.0)


def train_regressor(
    parts: list[RunSplit],
    split: Split,
    options: RegressorOptions,
    *,
    blank: tuple[Box, ...],
    device: torch.device,
    progress: bool = True,
) -> TrainedModel:
    """Train on the parts' training frames, score on their held-out frames; returns the net in eval mode."""
    started = time.perf_counter()
    rng = seed_everything(options.seed)
    generator = torch.Generator().manual_seed(options.seed)
    spec = InputSpec(width=options.width, height=options.height, view=None, blank=blank, level=options.level)
    train, heldout = _load_frames(parts, spec, progress)
    if len(train.images) < 2:
        raise ModelError(f"{len(train.images)} training frames; need at least 2")
    mean, std = channel_stats(train.images, spec)
    spec = spec.model_copy(update={"mean": mean, "std": std})
    targets = target_scales(train.t1, train.progress)
    y_train = _standardise(train, targets)
    stages_train = torch.from_numpy(train.stages)
    heldout_stages = tuple(STAGES[i] for i in heldout.stages)

    params: dict[str, int | float | str | bool] = {
        "stage_classes": len(STAGES) if options.stage_head else 0,
        "dropout": options.dropout,
        "colour_bins": options.colour_bins,
        "hidden": options.hidden,
    }
    net = ResNetHeads(**params)  # type: ignore[arg-type]  # the manifest keeps them as a plain dict
    if options.init_file is not None:
        net.load_trunk(options.init_file)
    memory = torch.channels_last if options.channels_last else torch.contiguous_format
    net = net.to(device=device, memory_format=memory)  # type: ignore[call-overload]  # torch stubs lack it
    augment = Augmentation(
        shift_px=options.shift_px,
        jpeg_probability=options.jpeg_probability,
        jpeg_quality=(options.jpeg_quality_min, 95),
        gain=(options.gain_min, options.gain_max),
        white_balance=options.white_balance,
        flicker=options.flicker,
    )
    # Near-equal batches instead of a ragged last one: batch norm is unstable on a batch of one or two.
    n_batches = max(1, round(len(train.images) / options.batch_size))
    optimiser = torch.optim.AdamW(net.parameters(), lr=options.lr, weight_decay=options.weight_decay)
    scheduler = _scheduler(optimiser, options, options.epochs * n_batches)

    history: list[EpochLog] = []
    # The held-out frames scored after each epoch (every heldout_stride-th; all of them at the end).
    watch = np.arange(0, len(heldout.images), options.heldout_stride)
    watched = Frames(heldout.images[watch], heldout.t1[watch], heldout.progress[watch], heldout.stages[watch])
    best: tuple[float, int, dict[str, torch.Tensor]] | None = None  # held-out loss, epoch, weights
    epochs = tqdm(range(1, options.epochs + 1), desc="train", unit="epoch", disable=not progress)
    for epoch in epochs:
        net.train()
        order = torch.randperm(len(train.images), generator=generator).numpy()
        losses = []
        for batch in np.array_split(order, n_batches):
            images = augment(train.images[batch], rng) if augment.active else train.images[batch]
            x = normalise_frames(add_sensor_noise(to_unit(images), options.noise_sigma, generator), spec)
            x = x.to(device=device, memory_format=memory)
            stages = stages_train[batch].to(device) if options.stage_head else None
            loss = regression_loss(net(x), y_train[batch].to(device), stages, options)
            optimiser.zero_grad(set_to_none=True)
            loss.backward()
            optimiser.step()
            scheduler.step()
            losses.append(float(loss.detach()))
        train_loss = float(np.mean(losses))
        heldout_loss: float | None = None
        extra: tuple[tuple[str, float], ...] = ()
        if len(watched.images):
            heldout_loss, metrics = _heldout_loss(net, spec, targets, watched, options, device)
            extra = tuple((f"heldout_{k}", v) for k, v in metrics.items() if k.startswith("mae_"))
        history.append(EpochLog(epoch=epoch, train_loss=train_loss, heldout_loss=heldout_loss, extra=extra))
        epochs.set_postfix(
            train=f"{train_loss:.3f}", heldout="-" if heldout_loss is None else f"{heldout_loss:.3f}"
        )
        log.debug("epoch %d: train %.4f, held-out %s", epoch, train_loss, heldout_loss)
        if options.patience and heldout_loss is not None:
            # Early stopping on the held-out run (issue 17): its frames then choose the epoch, so the
            # manifest's held-out metrics are no longer blind; unseen runs (evaluate-models) still are.
            if best is None or heldout_loss < best[0]:
                best = (heldout_loss, epoch, {k: v.detach().clone() for k, v in net.state_dict().items()})
            elif epoch - best[1] >= options.patience:
                log.info("early stop after epoch %d: best held-out loss at epoch %d", epoch, best[1])
                break
    if best is not None and best[1] != history[-1].epoch:
        net.load_state_dict(best[2])
    net.eval()
    if options.head_steps:
        refit_head(net, train.images, y_train, spec, options, device, generator, augment, rng)
    evaluation = evaluate_regressor(
        net, spec, targets, heldout.images, heldout.t1, heldout.progress, device, stages=heldout_stages
    )
    manifest = Manifest(
        name="temperature_progress",
        task="temperature_progress",
        architecture=Architecture(name="resnet18_heads", params=params),
        input=spec,
        targets=targets,
        training={
            **options.model_dump(mode="json"),
            "seconds": round(time.perf_counter() - started, 1),
            "device": str(device),
            "epochs_run": len(history),
            "best_epoch": best[1] if best is not None else len(history),
        },
        runs=tuple(_training_run(p) for p in parts),
        split=split,
        metrics=evaluation.metrics,
        baselines=evaluation.baselines,
        versions=current_versions(),
        weights_sha256=UNSET_SHA256,
    )
    return TrainedModel(net=net, manifest=manifest, history=history)


def _heldout_loss(
    net: ResNetHeads,
    spec: InputSpec,
    targets: tuple[TargetScale, ...],
    frames: Frames,
    options: RegressorOptions,
    device: torch.device,
) -> tuple[float, dict[str, float]]:
    """The training loss on held-out frames, and their metrics."""
    stages = tuple(STAGES[i] for i in frames.stages)
    evaluation = evaluate_regressor(
        net, spec, targets, frames.images, frames.t1, frames.progress, device, stages=stages
    )
    stage_index = torch.from_numpy(frames.stages) if options.stage_head else None
    y = _standardise(frames, targets)
    return float(regression_loss(evaluation.outputs, y, stage_index, options)), evaluation.metrics


def refit_head(
    net: ResNetHeads,
    images: np.ndarray,
    y: torch.Tensor,
    spec: InputSpec,
    options: RegressorOptions,
    device: torch.device,
    generator: torch.Generator,
    augment: Augmentation | None = None,
    rng: np.random.Generator | None = None,
) -> None:
    """A fresh regression head fitted on the frozen trunk's features of the training frames, as recorded
    and (head_copies) as other cameras would record them.

    The end-to-end epochs give the head a few hundred steps, while the trunk still moves under it; a head
    refitted for thousands of steps on fixed features resolves the fine colour differences that separate
    temperatures (with the colour histogram, on a held-out run: 1# MAE 18.4 -> 7.6 degC, see the README).
    Fitted on the recorded frames alone, it also learns their exact gains and noise: the augmented copies
    keep it to what survives another camera. Cheap: the trunk runs once per frame and copy."""

    def features_of(batch: np.ndarray, noisy: bool) -> torch.Tensor:
        def forward(x: torch.Tensor) -> torch.Tensor:
            return net.head_input(x, net.trunk(x))

        if not noisy:
            return predict(net, spec, batch, device, forward=forward)
        outs = []
        for start in range(0, len(batch), EVAL_BATCH):
            x = to_unit(batch[start : start + EVAL_BATCH])
            x = normalise_frames(add_sensor_noise(x, options.noise_sigma, generator), spec).to(device)
            with torch.no_grad():
                outs.append(forward(x).float().cpu())
        return torch.cat(outs)

    net.eval()
    parts = [features_of(images, noisy=False)]
    targets = [y]
    if options.head_copies and augment is not None and rng is not None:
        for _ in range(options.head_copies):
            parts.append(features_of(augment(images, rng) if augment.active else images, noisy=True))
            targets.append(y)
    features = torch.cat(parts).to(device)
    y = torch.cat(targets).to(device)
    net.reset_regression()
    head = net.regression.train()
    optimiser = torch.optim.AdamW(head.parameters(), lr=options.head_lr, weight_decay=options.weight_decay)
    scheduler = torch.optim.lr_scheduler.OneCycleLR(optimiser, options.head_lr, options.head_steps)
    for _ in range(options.head_steps):
        rows = torch.randint(0, len(features), (options.batch_size,), generator=generator).to(device)
        loss = regression_loss(head(features[rows]), y[rows], None, options)
        optimiser.zero_grad(set_to_none=True)
        loss.backward()
        optimiser.step()
        scheduler.step()
    net.eval()


def _training_run(part: RunSplit) -> TrainingRun:
    run = part.run
    labelled = (np.isfinite(run.t1_c) | np.isfinite(run.progress_pct)) & run.decoded
    return TrainingRun(
        name=run.name, folder=str(run.folder), frames=len(run.files), labelled=int(labelled.sum())
    )
