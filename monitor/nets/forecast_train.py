"""Training the forecast: pix2pix (U-Net generator + 70x70 PatchGAN, L1 x lambda + adversarial BCE loss) on
frame pairs dt apart from the training side of each run, scored on the held-out side against copy-last."""

import logging
import math
import time
from collections.abc import Callable, Mapping

import cv2
import numpy as np
import torch
from torch import nn
from tqdm import tqdm

from monitor.config.overlay import Box
from monitor.nets.dataset import to_tensor
from monitor.nets.forecast import (
    ForecastOptions,
    evaluate_forecast,
    forecast_input,
    forecast_pairs,
    forecast_spec,
    input_box,
    predict_frames,
)
from monitor.nets.labels import LabelledRun, load_inputs
from monitor.nets.manifest import (
    Architecture,
    InputSpec,
    Manifest,
    ModelError,
    Split,
    TrainingRun,
    current_versions,
)
from monitor.nets.pix2pix import PatchDiscriminator, UNetGenerator
from monitor.nets.recipe import UNSET_SHA256, EpochLog, TrainedModel, seed_everything
from monitor.nets.split import RunSplit

log = logging.getLogger(__name__)


def train_forecast(
    parts: list[RunSplit],
    options: ForecastOptions,
    *,
    split: Split,
    blank: tuple[Box, ...],
    sample_roi: Box,
    device: torch.device,
    progress: bool = True,
) -> TrainedModel:
    """pix2pix on the training side of every run; metrics on the held-out side (pairs never mix them)."""
    started = time.perf_counter()
    rng = seed_everything(options.seed)
    spec = forecast_spec(options, blank)
    images, offsets = _load(parts, spec, progress)
    train_pairs = _pairs(parts, offsets, "train", sorted(set(options.dts)))
    held_pairs = _pairs(parts, offsets, "heldout", sorted(set(options.dts) | {1}))
    if not any(len(p) for p in train_pairs.values()):
        raise ModelError(f"no training frame pairs {options.dts} s apart: nothing to learn a forecast from")
    params = {"in_channels": 4, "out_channels": 3, "ngf": options.ngf, "depth": options.depth}
    params |= {"dt_gate": True, "detail_filter": True}
    gen = UNetGenerator(**params).to(device)  # type: ignore[arg-type]
    disc = PatchDiscriminator(in_channels=7, ndf=options.ndf).to(device)
    opts: list[torch.optim.Optimizer] = [
        torch.optim.Adam(n.parameters(), lr=options.lr, betas=options.betas) for n in (gen, disc)
    ]
    sources = np.unique(np.concatenate([p[:, 0] for p in train_pairs.values()])).size  # one pair each
    schedule = _linear_decay(options.epochs * math.ceil(sources / options.batch_size), options.decay)
    schedulers = [torch.optim.lr_scheduler.LambdaLR(opt, schedule) for opt in opts]
    # the held-out dt draw is fixed once, so the per-epoch held-out losses are comparable
    held_draw = _draw({dt: held_pairs[dt] for dt in options.dts}, np.random.default_rng(options.seed + 1))
    history: list[EpochLog] = []
    for epoch in range(1, options.epochs + 1):
        t0 = time.perf_counter()
        gen.train()
        disc.train()
        draw = _draw(train_pairs, rng)
        sums = np.zeros(3)
        steps = range(0, len(draw), options.batch_size)
        bar = tqdm(steps, desc=f"forecast {epoch}/{options.epochs}", unit="step", disable=not progress)
        for k in bar:
            rows = draw[k : k + options.batch_size]
            x, y = _batch(images, rows, spec, options, rng, device)
            sums += _step(gen, disc, opts, x, y, options.lambda_l1) * len(rows)
            for scheduler in schedulers:
                scheduler.step()
            bar.set_postfix(l1=f"{sums[0] / (k + len(rows)):.4f}")
        l1, adversarial, discriminator = (float(v) for v in sums / len(draw))
        heldout = _heldout_l1(gen, images, held_draw, spec, options.dt_scale) if len(held_draw) else None
        extra = (("adversarial", adversarial), ("discriminator", discriminator))
        history.append(EpochLog(epoch, l1, heldout, extra))
        log.info(
            "forecast epoch %d: L1 %.4f, held-out %s, %.0f s", epoch, l1, heldout, time.perf_counter() - t0
        )
    gen.eval()
    roi = input_box(sample_roi, spec, None if spec.view is not None else _frame_wh(parts))
    metrics, baselines = evaluate_forecast(
        gen, images, held_pairs, spec=spec, roi=roi, dt_scale=options.dt_scale, device=device
    )
    training = options.flat() | {"gan_loss": "bce", "seconds": round(time.perf_counter() - started, 1)}
    manifest = Manifest(
        name="forecast",
        task="forecast",
        architecture=Architecture(name="unet_dt", params=params),
        input=spec,
        training=training | {"device": str(device), "epochs_run": len(history)},
        runs=tuple(_training_run(p.run) for p in parts),
        split=split,
        metrics=metrics,
        baselines=baselines,
        versions=current_versions(),
        weights_sha256=UNSET_SHA256,
    )
    return TrainedModel(gen, manifest, history)


def _training_run(run: LabelledRun) -> TrainingRun:
    # every decodable frame is a label for the forecast: the later frames are the targets
    decoded = int(run.decoded.sum())
    return TrainingRun(name=run.name, folder=str(run.folder), frames=len(run.files), labelled=decoded)


def _linear_decay(total_steps: int, share: float) -> Callable[[int], float]:
    """pix2pix's 'linear' policy, per step: the full rate, then down to 0 over the last `share` of the
    steps, so the final weights average many batches instead of following the last few."""
    decay_steps = share * total_steps
    return lambda step: 1.0 if decay_steps <= 0 else min(1.0, (total_steps - step) / decay_steps)


def _load(parts: list[RunSplit], spec: InputSpec, progress: bool) -> tuple[np.ndarray, list[int]]:
    """Every run's frames prepared once, one array; offsets[k] = the index of run k's first frame in it."""
    arrays = [load_inputs(p.run.paths, spec, progress=progress) for p in parts]
    offsets = np.cumsum([0] + [len(a) for a in arrays[:-1]]).tolist()
    return np.concatenate(arrays), offsets


def _pairs(parts: list[RunSplit], offsets: list[int], side: str, dts: list[int]) -> dict[int, np.ndarray]:
    """Pairs per dt, as indices into the concatenated frames; within one run and one side of the split."""
    return {
        dt: np.concatenate(
            [
                forecast_pairs(p.run.times, getattr(p, side), dt) + o
                for p, o in zip(parts, offsets, strict=True)
            ]
        )
        for dt in dts
    }


def _draw(pairs: Mapping[int, np.ndarray], rng: np.random.Generator) -> np.ndarray:
    """One (i, j, dt) row per source frame i, its dt drawn uniformly among those it has a pair for."""
    rows = [np.column_stack([p, np.full(len(p), dt)]) for dt, p in pairs.items() if len(p)]
    if not rows:
        return np.zeros((0, 3), dtype=int)
    table = np.concatenate(rows)[rng.permutation(sum(len(r) for r in rows))]
    _, first = np.unique(table[:, 0], return_index=True)
    return table[first][rng.permutation(len(first))]


def _batch(
    images: np.ndarray,
    rows: np.ndarray,
    spec: InputSpec,
    options: ForecastOptions,
    rng: np.random.Generator,
    device: torch.device,
) -> tuple[torch.Tensor, torch.Tensor]:
    x = to_tensor(images[rows[:, 0]], spec)
    y = to_tensor(images[rows[:, 1]], spec)
    if options.shift_px:
        # one shift per pair, the same for input and target: the camera may sit a few pixels off
        s, h, w = options.shift_px, x.shape[2], x.shape[3]
        both = nn.functional.pad(torch.cat([x, y], dim=1), (s, s, s, s), mode="replicate")
        offs = rng.integers(0, 2 * s + 1, size=(len(rows), 2))
        both = torch.stack([both[n, :, oy : oy + h, ox : ox + w] for n, (oy, ox) in enumerate(offs)])
        x, y = both[:, :3], both[:, 3:]
    dt = torch.from_numpy(rows[:, 2].astype(np.float32))
    return forecast_input(x, dt, options.dt_scale).to(device), y.to(device)


def _step(
    gen: nn.Module,
    disc: nn.Module,
    opts: list[torch.optim.Optimizer],
    x: torch.Tensor,
    y: torch.Tensor,
    l1_w: float,
) -> np.ndarray:
    """One pix2pix step (vanilla GAN loss, BCE on logits): D on real and fake, then G. -> (L1, adv, D)."""
    bce = nn.functional.binary_cross_entropy_with_logits
    opt_g, opt_d = opts
    fake = gen(x)
    disc.requires_grad_(True)
    opt_d.zero_grad(set_to_none=True)
    p_fake = disc(torch.cat([x, fake.detach()], dim=1))
    p_real = disc(torch.cat([x, y], dim=1))
    loss_d = 0.5 * (bce(p_fake, torch.zeros_like(p_fake)) + bce(p_real, torch.ones_like(p_real)))
    loss_d.backward()
    opt_d.step()
    disc.requires_grad_(False)  # G's step needs gradients through D, not for D's weights
    opt_g.zero_grad(set_to_none=True)
    p_gen = disc(torch.cat([x, fake], dim=1))
    adversarial = bce(p_gen, torch.ones_like(p_gen))
    l1 = nn.functional.l1_loss(fake, y)
    (adversarial + l1_w * l1).backward()
    opt_g.step()
    return np.array([l1.item(), adversarial.item(), loss_d.item()])


def _heldout_l1(
    gen: nn.Module, images: np.ndarray, draw: np.ndarray, spec: InputSpec, dt_scale: float
) -> float:
    """Mean L1 of eval-mode forecasts on the held-out draw, in network units like the training loss."""
    device = next(gen.parameters()).device
    pred = predict_frames(gen, images[draw[:, 0]], draw[:, 2], spec=spec, dt_scale=dt_scale, device=device)
    # both sides are 8-bit here: the error is in grey levels, 255 * std of them per network unit
    return float(np.abs(pred.astype(np.int16) - images[draw[:, 1]]).mean() / (255.0 * spec.std[0]))


def _frame_wh(parts: list[RunSplit]) -> tuple[int, int]:
    """(width, height) of the first frame: a whole-frame model's input box depends on it."""
    image = cv2.imread(str(parts[0].run.paths[0]), cv2.IMREAD_COLOR)
    if image is None:
        raise ModelError(f"{parts[0].run.paths[0]}: not readable; need the frame size for the sample box")
    return image.shape[1], image.shape[0]
