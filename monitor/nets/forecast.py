"""The forecast recipe: pix2pix (U-Net generator + PatchGAN, L1 + adversarial loss) that predicts the frame
dt seconds ahead from the current frame and dt, judged on the sample region of held-out frames against
copy-the-last-frame: its options, and the parts the runtime and training share (input, prediction, sample box,
scoring). Training itself is in forecast_train."""

import logging
from collections.abc import Mapping
from typing import Annotated

import numpy as np
import torch
from pydantic import BaseModel, ConfigDict, Field, model_validator
from torch import nn

from monitor.config.overlay import Box
from monitor.nets import image_metrics
from monitor.nets.dataset import from_tensor, to_tensor
from monitor.nets.manifest import (
    InputSpec,
    Manifest,
    ModelError,
)

log = logging.getLogger(__name__)

TIME_TOL_S = 1e-3  # frame times are whole seconds; this only absorbs float noise
PSNR_CAP_DB = 100.0  # an identical pair would be +inf dB; capped so a mean stays finite JSON
_Beta = Annotated[float, Field(ge=0.0, lt=1.0)]
_Dt = Annotated[int, Field(ge=1, le=86_400)]


class ForecastOptions(BaseModel):
    """The forecast recipe's settings; the defaults are the demo-size model (minutes on a 2-core CPU)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    size: int = Field(256, ge=32, le=1024, description="Side of the square network input, px.")
    ngf: int = Field(8, ge=1, le=128, description="Generator filters in the first layer.")
    ndf: int = Field(8, ge=1, le=128, description="Discriminator filters in the first layer.")
    depth: int = Field(8, ge=5, le=10, description="U-Net downsamplings; default: as many as size allows.")
    epochs: int = Field(6, ge=1, le=10_000, description="Passes over the training frames.")
    batch_size: int = Field(4, ge=1, le=512, description="Pairs per optimisation step.")
    lr: float = Field(2e-4, gt=0, le=1, description="Adam learning rate of both networks.")
    decay: float = Field(0.5, ge=0, le=1, description="Last share of the steps over which lr falls to 0.")
    betas: tuple[_Beta, _Beta] = Field((0.5, 0.999), description="Adam betas.")
    lambda_l1: float = Field(100.0, ge=0, le=10_000, description="Weight of L1 against the GAN loss.")
    dts: tuple[_Dt, ...] = Field((1, 5, 10, 30), min_length=1, description="Horizons trained on, s.")
    dt_scale: float = Field(30.0, gt=0, le=86_400, description="dt is fed to the net as dt_s / dt_scale.")
    seed: int = Field(0, ge=0, le=2**31 - 1, description="Seeds weights, pair draws and shifts.")
    shift_px: int = Field(4, ge=0, le=64, description="Largest random shift, px, of input and target alike.")
    view: Box | None = Field(
        default_factory=lambda: Box(x=320, y=230, width=384, height=384),
        description="Square crop of the frame around the sample, before resizing; None = the whole frame.",
    )

    @model_validator(mode="before")
    @classmethod
    def _derive_depth(cls, data: object) -> object:
        # as deep as the size allows (256 px: 8 levels down to 1x1; 64 px: 6); a fixed default would not
        # fit another size
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


def forecast_spec(options: ForecastOptions, blank: tuple[Box, ...] = ()) -> InputSpec:
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


def input_box(box: Box, spec: InputSpec, frame_wh: tuple[int, int] | None = None) -> Box:
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
    return Box(x=x0, y=y0, width=x1 - x0, height=y1 - y0)


def forecast_pairs(times: np.ndarray, indices: np.ndarray, dt: float) -> np.ndarray:
    """K x 2 frame indices (i, j), both from `indices`, with times[j] - times[i] == dt."""
    idx = np.asarray(indices, dtype=int)
    if idx.size == 0:
        return np.zeros((0, 2), dtype=int)
    idx = idx[np.argsort(times[idx], kind="stable")]
    t = np.asarray(times, dtype=float)[idx]
    pos = np.minimum(np.searchsorted(t, t + dt - TIME_TOL_S), len(t) - 1)
    hit = np.abs(t[pos] - t - dt) <= TIME_TOL_S
    return np.stack([idx[hit], idx[pos[hit]]], axis=1)


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
    out = [np.zeros((0, *images.shape[1:]), dtype=np.uint8)]
    try:
        with torch.inference_mode():
            for k in range(0, len(images), batch_size):
                x = to_tensor(images[k : k + batch_size], spec).to(device)
                dt = torch.from_numpy(dts[k : k + batch_size].copy()).to(device)
                out.append(from_tensor(net(forecast_input(x, dt, dt_scale)), spec))
    finally:
        net.train(was_training)
    return np.concatenate(out)


def evaluate_forecast(
    net: nn.Module,
    images: np.ndarray,
    pairs: Mapping[int, np.ndarray],
    *,
    spec: InputSpec,
    roi: Box,
    dt_scale: float,
    device: torch.device,
) -> tuple[dict[str, float], dict[str, float]]:
    """(model, copy-last): mean PSNR, SSIM and L1 (grey levels) over the pairs of each dt, on `roi` (input
    pixels), as `psnr_dt5`...; plus `pairs_dt5`... in the model's. A dt without pairs gets only its count."""
    metrics: dict[str, float] = {}
    baselines: dict[str, float] = {}
    for dt, p in sorted(pairs.items()):
        metrics[f"pairs_dt{dt}"] = float(len(p))
        if len(p) == 0:
            log.warning("no held-out pairs %d s apart: no forecast metrics for dt=%d", dt, dt)
            continue
        pred = predict_frames(net, images[p[:, 0]], float(dt), spec=spec, dt_scale=dt_scale, device=device)
        for out, guess in ((metrics, pred), (baselines, images[p[:, 0]])):
            scores = np.array([_scores(g, t, roi) for g, t in zip(guess, images[p[:, 1]], strict=True)])
            psnr, ssim, l1 = scores.mean(axis=0)
            out.update({f"psnr_dt{dt}": float(psnr), f"ssim_dt{dt}": float(ssim), f"l1_dt{dt}": float(l1)})
    return metrics, baselines


def _scores(guess: np.ndarray, truth: np.ndarray, roi: Box) -> tuple[float, float, float]:
    return (
        min(image_metrics.psnr(guess, truth, roi), PSNR_CAP_DB),
        image_metrics.ssim(guess, truth, roi),
        image_metrics.mean_abs_error(guess, truth, roi),
    )
