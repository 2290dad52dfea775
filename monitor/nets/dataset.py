"""Training data for free from a recorded run: 1# from the overlay digitizer (flagged reads left out),
progress and stage from the stage detector; and the frames turned into network inputs."""

import logging
import math
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np
import torch
from tqdm import tqdm

from monitor.analytics.analyze import analyze_frames
from monitor.ingest.loader import FrameError, list_frames, load_frames
from monitor.nets.manifest import InputSpec, ModelError
from monitor.pipeline.process import FrameProcessor
from monitor.records import EventType, Stage

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class LabelledRun:
    """One recorded run, every array indexed like `files`; NaN marks a frame without a usable label."""

    name: str
    folder: Path
    files: tuple[str, ...]
    times: np.ndarray  # s
    t1_c: np.ndarray  # 1# as read from the overlay; NaN where the read was flagged
    progress_pct: np.ndarray  # the reference paper's i/N; NaN for the whole run when an event is missing
    stages: tuple[Stage, ...]
    decoded: np.ndarray  # bool: the frame could be decoded

    @property
    def paths(self) -> list[Path]:
        return [self.folder / f for f in self.files]


def label_run(folder: Path, processor: FrameProcessor, *, progress: bool = True) -> LabelledRun:
    """The run through the same pipeline as `analyze`; its outputs become the labels."""
    paths = list_frames(folder)
    if not paths:
        raise ModelError(f"{folder}: no frames to train on")
    result = analyze_frames(paths, processor, run=folder.name, progress=progress)
    t1 = np.array(
        [
            math.nan if v is None or any(f.startswith(("t1:", "frame:")) for f in flags) else v
            for v, flags in zip(result.t1, result.flags, strict=True)
        ],
        dtype=float,
    )
    found = {e.type for e in result.events}
    has_progress = {EventType.CRYSTALLIZATION_START, EventType.CRYSTALLIZATION_END} <= found
    if not has_progress:
        log.warning("%s: crystallization start/end not both detected; no progress labels from it", folder)
    prog = np.asarray(result.progress_pct, dtype=float) if has_progress else np.full(len(paths), math.nan)
    return LabelledRun(
        name=folder.name,
        folder=folder,
        files=tuple(result.files),
        times=np.asarray(result.times, dtype=float),
        t1_c=t1,
        progress_pct=prog,
        stages=tuple(result.stages),
        decoded=np.array([f is not None for f in result.features], dtype=bool),
    )


def prepare(image_bgr: np.ndarray, spec: InputSpec) -> np.ndarray:
    """A decoded BGR frame -> the network's RGB uint8 picture (blanked overlay, view crop, resize)."""
    image = image_bgr
    if spec.blank:
        image = image.copy()
        for box in spec.blank:
            image[box.y : box.y + box.height, box.x : box.x + box.width] = 128
    if spec.view is not None:
        v = spec.view
        h, w = image.shape[:2]
        if v.x + v.width > w or v.y + v.height > h:
            raise ModelError(
                f"the model's view {v.width}x{v.height}+{v.x}+{v.y} does not fit a {w}x{h} frame"
            )
        image = image[v.y : v.y + v.height, v.x : v.x + v.width]
    image = cv2.resize(image, (spec.width, spec.height), interpolation=cv2.INTER_AREA)
    return cv2.cvtColor(image, cv2.COLOR_BGR2RGB)


def to_tensor(batch: np.ndarray, spec: InputSpec) -> torch.Tensor:
    """N x H x W x 3 uint8 RGB -> N x 3 x H x W float, normalised with the manifest's mean and std."""
    x = torch.from_numpy(np.ascontiguousarray(batch)).permute(0, 3, 1, 2).float().div_(255.0)
    mean = torch.tensor(spec.mean, dtype=x.dtype).view(1, 3, 1, 1)
    std = torch.tensor(spec.std, dtype=x.dtype).view(1, 3, 1, 1)
    return (x - mean) / std


def from_tensor(x: torch.Tensor, spec: InputSpec) -> np.ndarray:
    """The inverse of to_tensor: N x 3 x H x W normalised -> N x H x W x 3 uint8 RGB."""
    mean = torch.tensor(spec.mean, dtype=x.dtype, device=x.device).view(1, 3, 1, 1)
    std = torch.tensor(spec.std, dtype=x.dtype, device=x.device).view(1, 3, 1, 1)
    rgb = (x * std + mean).clamp(0, 1).mul(255.0).round().byte()
    return rgb.permute(0, 2, 3, 1).cpu().numpy()


def load_inputs(paths: Sequence[Path], spec: InputSpec, *, progress: bool = True) -> np.ndarray:
    """Every frame prepared once (N x H x W x 3 uint8); an undecodable frame becomes mid-grey."""
    out = np.full((len(paths), spec.height, spec.width, 3), 128, dtype=np.uint8)
    frames = tqdm(load_frames(list(paths)), total=len(paths), unit="frame", desc="load", disable=not progress)
    for i, frame in enumerate(frames):
        if not isinstance(frame, FrameError):
            out[i] = prepare(frame.image, spec)
    return out


def channel_stats(images: np.ndarray) -> tuple[tuple[float, float, float], tuple[float, float, float]]:
    """Per-channel mean and std on 0..1 values, for the manifest's normalisation."""
    x = images.reshape(-1, 3).astype(np.float64) / 255.0
    mean = x.mean(axis=0)
    std = np.maximum(x.std(axis=0), 1e-3)
    return (float(mean[0]), float(mean[1]), float(mean[2])), (float(std[0]), float(std[1]), float(std[2]))
