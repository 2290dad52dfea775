"""The forecast recipe: pix2pix (U-Net generator + PatchGAN, L1 + adversarial loss) that predicts the frame
dt seconds ahead from the current frame and dt, judged on the sample region of held-out frames against
copy-the-last-frame. Also the helpers the runtime shares with training (input, prediction, sample box)."""

import logging
import math
import time
from collections.abc import Callable, Mapping
from typing import Annotated

import cv2
import numpy as np
import torch
from pydantic import BaseModel, ConfigDict, Field, model_validator
from torch import nn
from tqdm import tqdm

from monitor.nets import image_metrics
from monitor.nets.dataset import LabelledRun, from_tensor, load_inputs, to_tensor
from monitor.nets.manifest import (
    Architecture,
    InputSpec,
    Manifest,
    ModelError,
    Split,
    TrainingRun,
    ViewBox,
    current_versions,
)
from monitor.nets.pix2pix import PatchDiscriminator, UNetGenerator
from monitor.nets.recipe import UNSET_SHA256, EpochLog, TrainedModel, seed_everything
from monitor.nets.split import RunSplit

log = logging.getLogger(__name__)

TIME_TOL_S = 1e-3  # frame times are whole seconds; this only absorbs float noise
PSNR_CAP_DB = 100.0  # an identical pair would be +inf dB; capped so a mean stays finite JSON


_Beta = Annotated[float, Field(ge=0.0, lt=1.0)]
_Dt = Annotated[int, Field(ge=1, le=86_400)]


class ForecastOptions(BaseModel):
    """The forecast recipe's settings; the defaults are the demo-size model (trains in minutes on a CPU)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    size: int = Field(256, ge=32, le=1024, description="Side of the square network input, px.")
    ngf: int = Field(16, ge=1, le=128, description="Generator filters in the first layer.")
    ndf: int = Field(16, ge=1, le=128, description="Discriminator filters in the first layer.")
    depth: int = Field(
        8, ge=5, le=10, description="U-Net downsamplings; default: as many as size allows (256 px -> 8)."
    )
    epochs: int = Field(6, ge=1, le=10_000, description="Passes over the training frames.")
    batch_size: int = Field(2, ge=1, le=512, description="Pairs per step.")
    lr: float = Field(2e-4, gt=0, le=1, description="Adam learning rate of both networks.")
    decay: float = Field(
        0.5, ge=0, le=1, description="Last share of the steps over which lr falls linearly to 0 (pix2pix)."
    )
    betas: tuple[_Beta, _Beta] = Field((0.5, 0.999), description="Adam betas.")
    lambda_l1: float = Field(
        100.0, ge=0, le=10_000, description="Weight of the L1 loss against the GAN loss."
    )
    dts: tuple[_Dt, ...] = Field((1, 5, 10, 30), min_length=1, description="Horizons trained on, s.")
    dt_scale: float = Field(30.0, gt=0, le=86_400, description="dt is fed to the net as dt_s / dt_scale.")
    seed: int = Field(0, ge=0, le=2**31 - 1, description="Seeds weights, pair draws and shifts.")
    shift_px: int = Field(
        4,
        ge=0,
        le=64,
        description="Largest random shift, px, the same for input and target (no colour jitter).",
    )
    view: ViewBox | None = Field(
        default_factory=lambda: ViewBox(x=320, y=230, width=384, height=384),
        description="Square crop of the frame around the sample, before resizing; None = the whole frame.",
    )

    @model_validator(mode="before")
    @classmethod
    def _derive_depth(cls, data: object) -> object:
        # as deep as the size allows (a 1x1 bottleneck for 256 px, 8 levels; 64 px, 6): a fixed default
        # would not fit a smaller size
        if isinstance(data, dict) and data.get("depth") is None and isinstance(data.get("size", 256), int):
            size = data.get("size", 256)
            data = {**data, "depth": (size & -size).bit_length() - 1}  # the largest 2**d dividing size
        return data

    @model_validator(mode="after")
    def _fits(self) -> "ForecastOptions":
        if self.size % 2**self.depth:
            raise ValueError(f"size {self.size} is not divisible by 2**depth = {2**self.depth}")
        return self

    def flat(self) -> dict[str, int | float | str | bool | None]:
        """The options as the manifest's flat `training` entries."""
        out: dict[str, int | float | str | bool | None] = {
            k: v for k, v in self.model_dump().items() if k not in ("betas", "dts", "view")
        }
        out.update(beta1=self.betas[0], beta2=self.betas[1], dts=",".join(map(str, self.dts)))
        for key in ("x", "y", "width", "height"):
            out[f"view_{key}"] = None if self.view is None else getattr(self.view, key)
        return out


def forecast_spec(options: ForecastOptions, blank: tuple[ViewBox, ...] = ()) -> InputSpec:
    return InputSpec(width=options.size, height=options.size, view=options.view, blank=blank)


def forecast_input(x: torch.Tensor, dt_s: float | torch.Tensor, dt_scale: float) -> torch.Tensor:
    """N x 3 x H x W frames + dt (one for all, or one per frame) -> N x 4 x H x W generator input."""
    n, _, h, w = x.shape
    dt = torch.as_tensor(dt_s, dtype=x.dtype, device=x.device).reshape(-1, 1, 1, 1) / dt_scale
    return torch.cat([x, dt.expand(n, 1, h, w)], dim=1)


def dt_scale_of(manifest: Manifest) -> float:
    value = manifest.training.get("dt_scale")
    if not isinstance(value, int | float) or isinstance(value, bool):
        raise ModelError(f"forecast model {manifest.name}: no dt_scale in its manifest's training entries")
    return float(value)


def input_box(box: ViewBox, spec: InputSpec, frame_wh: tuple[int, int] | None = None) -> ViewBox:
    """A frame-pixel box mapped into the network's input (view crop, then resize), clipped to it;
    `frame_wh` (the frame's width, height) is needed only when the model sees the whole frame."""
    if spec.view is not None:
        vx, vy, vw, vh = spec.view.x, spec.view.y, spec.view.width, spec.view.height
    elif frame_wh is not None:
        vx, vy, vw, vh = 0, 0, *frame_wh
    else:
        raise ModelError("a whole-frame model needs the frame size to map a box into its input")
    sx, sy = spec.width / vw, spec.height / vh
    x0, y0 = max(0, round((box.x - vx) * sx)), max(0, round((box.y - vy) * sy))
    x1 = min(spec.width, round((box.x + box.width - vx) * sx))
    y1 = min(spec.height, round((box.y + box.height - vy) * sy))
    if x1 - x0 < 1 or y1 - y0 < 1:
        raise ModelError(f"box {box} lies outside the model's view {spec.view}")
    return ViewBox(x=x0, y=y0, width=x1 - x0, height=y1 - y0)


def forecast_pairs(times: np.ndarray, indices: np.ndarray, dt: float) -> np.ndarray:
    """K x 2 frame indices (i, j), both from `indices`, with times[j] - times[i] == dt."""
    idx = np.asarray(indices, dtype=int)
    idx = idx[np.argsort(times[idx], kind="stable")]
    t = np.asarray(times, dtype=float)[idx]
    pos = np.minimum(np.searchsorted(t, t + dt - TIME_TOL_S), len(t) - 1) if len(t) else idx
    hit = np.abs(t[pos] - t - dt) <= TIME_TOL_S if len(t) else np.zeros(0, bool)
    return np.stack([idx[hit], idx[pos[hit]]], axis=1) if hit.any() else np.zeros((0, 2), dtype=int)


def predict_frames(
    net: nn.Module,
    images: np.ndarray,
    dt_s: float | np.ndarray,
    *,
    spec: InputSpec,
    dt_scale: float,
    device: torch.device,
    batch_size: int = 16,
) -> np.ndarray:
    """N prepared frames (uint8 RGB, as dataset.prepare gives) -> the N frames dt_s ahead, uint8 RGB."""
    dts = np.broadcast_to(np.asarray(dt_s, dtype=np.float32), (len(images),))
    was_training = net.training
    net.eval()
    out = []
    try:
        with torch.inference_mode():
            for k in range(0, len(images), batch_size):
                x = to_tensor(images[k : k + batch_size], spec).to(device)
                dt = torch.from_numpy(dts[k : k + batch_size].copy()).to(device)
                out.append(from_tensor(net(forecast_input(x, dt, dt_scale)), spec))
    finally:
        net.train(was_training)
    return np.concatenate(out) if out else np.zeros_like(images)


def evaluate_forecast(
    net: nn.Module,
    images: np.ndarray,
    pairs: Mapping[int, np.ndarray],
    *,
    spec: InputSpec,
    roi: ViewBox,
    dt_scale: float,
    device: torch.device,
) -> tuple[dict[str, float], dict[str, float]]:
    """(model, copy-last) PSNR / SSIM / L1 (grey levels) of `roi` (input pixels), per dt; mean over pairs."""
    metrics: dict[str, float] = {}
    baselines: dict[str, float] = {}
    for dt, p in sorted(pairs.items()):
        metrics[f"pairs_dt{dt}"] = float(len(p))
        if len(p) == 0:
            log.warning("no held-out pairs %d s apart: no forecast metrics for dt=%d", dt, dt)
            continue
        pred = predict_frames(net, images[p[:, 0]], float(dt), spec=spec, dt_scale=dt_scale, device=device)
        for out, guess in ((metrics, pred), (baselines, images[p[:, 0]])):
            truth = images[p[:, 1]]
            scores = [_scores(g, t, roi) for g, t in zip(guess, truth, strict=True)]
            for name, values in zip(("psnr", "ssim", "l1"), zip(*scores, strict=True), strict=True):
                out[f"{name}_dt{dt}"] = float(np.mean(values))
    return metrics, baselines


def _scores(guess: np.ndarray, truth: np.ndarray, roi: ViewBox) -> tuple[float, float, float]:
    return (
        min(image_metrics.psnr(guess, truth, roi), PSNR_CAP_DB),
        image_metrics.ssim(guess, truth, roi),
        image_metrics.mean_abs_error(guess, truth, roi),
    )


def train_forecast(
    parts: list[RunSplit],
    options: ForecastOptions,
    *,
    split: Split,
    blank: tuple[ViewBox, ...],
    sample_roi: ViewBox,
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
    gen = UNetGenerator(in_channels=4, out_channels=3, ngf=options.ngf, depth=options.depth).to(device)
    disc = PatchDiscriminator(in_channels=7, ndf=options.ndf).to(device)
    opt_g = torch.optim.Adam(gen.parameters(), lr=options.lr, betas=options.betas)
    opt_d = torch.optim.Adam(disc.parameters(), lr=options.lr, betas=options.betas)
    sources = np.unique(np.concatenate([p[:, 0] for p in train_pairs.values()])).size  # one pair each
    schedule = _linear_decay(options.epochs * math.ceil(sources / options.batch_size), options.decay)
    schedulers = [torch.optim.lr_scheduler.LambdaLR(opt, schedule) for opt in (opt_g, opt_d)]
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
            sums += _step(gen, disc, opt_g, opt_d, x, y, options.lambda_l1) * len(rows)
            for scheduler in schedulers:
                scheduler.step()
            bar.set_postfix(l1=f"{sums[0] / min(k + len(rows), len(draw)):.4f}")
        l1, adversarial, discriminator = (float(v) for v in sums / len(draw))
        heldout = _heldout_l1(gen, images, held_draw, spec, options) if len(held_draw) else None
        extra = (("adversarial", adversarial), ("discriminator", discriminator))
        history.append(EpochLog(epoch, l1, heldout, extra))
        log.info(
            "forecast epoch %d: L1 %.4f, held-out %s, %.0f s", epoch, l1, heldout, time.perf_counter() - t0
        )
    gen.eval()
    frame_wh = None if spec.view is not None else _frame_wh(parts)
    roi = input_box(sample_roi, spec, frame_wh)
    metrics, baselines = evaluate_forecast(
        gen, images, held_pairs, spec=spec, roi=roi, dt_scale=options.dt_scale, device=device
    )
    training = options.flat() | {
        "gan_loss": "bce",
        "seconds": round(time.perf_counter() - started, 1),
        "device": str(device),
        "epochs_run": len(history),
    }
    manifest = Manifest(
        name="forecast",
        task="forecast",
        architecture=Architecture(
            name="unet_dt",
            params={
                "in_channels": 4,
                "out_channels": 3,
                "ngf": options.ngf,
                "depth": options.depth,
                "dt_gate": True,
            },
        ),
        input=spec,
        training=training,
        runs=tuple(_training_run(p.run) for p in parts),
        split=split,
        metrics=metrics,
        baselines=baselines,
        versions=current_versions(),
        weights_sha256=UNSET_SHA256,
    )
    return TrainedModel(gen, manifest, history)


def _training_run(run: LabelledRun) -> TrainingRun:
    # every decodable frame is a label for the forecast: the next frames are its targets
    return TrainingRun(
        name=run.name, folder=str(run.folder), frames=len(run.files), labelled=int(run.decoded.sum())
    )


def _linear_decay(total_steps: int, share: float) -> Callable[[int], float]:
    """pix2pix's 'linear' policy per step: full rate, then down to 0 over the last `share` of the steps.
    The last steps then average over many batches instead of following the last few."""
    decay_steps = share * total_steps

    def factor(step: int) -> float:
        return 1.0 if decay_steps <= 0 else min(1.0, (total_steps - step) / decay_steps)

    return factor


def _load(parts: list[RunSplit], spec: InputSpec, progress: bool) -> tuple[np.ndarray, list[int]]:
    """Every run's frames prepared once, one array; offsets[k] = the index of run k's first frame in it."""
    arrays = [load_inputs(p.run.paths, spec, progress=progress) for p in parts]
    offsets = np.cumsum([0] + [len(a) for a in arrays[:-1]]).tolist()
    return np.concatenate(arrays), offsets


def _pairs(parts: list[RunSplit], offsets: list[int], side: str, dts: list[int]) -> dict[int, np.ndarray]:
    """Pairs per dt, as indices into the concatenated frames; within one run and one side of the split."""
    out = {}
    for dt in dts:
        found = [
            forecast_pairs(p.run.times, getattr(p, side), dt) + o for p, o in zip(parts, offsets, strict=True)
        ]
        out[dt] = np.concatenate(found) if found else np.zeros((0, 2), dtype=int)
    return out


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
    opt_g: torch.optim.Optimizer,
    opt_d: torch.optim.Optimizer,
    x: torch.Tensor,
    y: torch.Tensor,
    lambda_l1: float,
) -> np.ndarray:
    """One pix2pix step (vanilla GAN loss, BCE on logits): D on real and fake, then G. -> (L1, adv, D)."""
    bce = nn.functional.binary_cross_entropy_with_logits
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
    (adversarial + lambda_l1 * l1).backward()
    opt_g.step()
    return np.array([l1.item(), adversarial.item(), loss_d.item()])


def _heldout_l1(
    gen: nn.Module, images: np.ndarray, draw: np.ndarray, spec: InputSpec, options: ForecastOptions
) -> float:
    """Mean L1 of eval-mode forecasts on the held-out draw, in network units like the training loss."""
    device = next(gen.parameters()).device
    pred = predict_frames(
        gen, images[draw[:, 0]], draw[:, 2], spec=spec, dt_scale=options.dt_scale, device=device
    )
    # both sides are 8-bit here: the error is in grey levels, 127.5 of them per network unit (std 0.5)
    return float(np.abs(pred.astype(np.int16) - images[draw[:, 1]]).mean() / (255.0 * spec.std[0]))


def _frame_wh(parts: list[RunSplit]) -> tuple[int, int]:
    image = cv2.imread(str(parts[0].run.paths[0]), cv2.IMREAD_COLOR)
    if image is None:
        raise ModelError(f"{parts[0].run.paths[0]}: not readable; need the frame size for the sample box")
    return image.shape[1], image.shape[0]
