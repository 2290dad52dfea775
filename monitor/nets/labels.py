"""Training data for free from a recorded run: 1# from the overlay digitizer (flagged reads left out),
progress and stage from the stage detector, the frames loaded as network inputs, the channel statistics.
Training only: the service never imports this."""

import logging
import math
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from tqdm import tqdm

from monitor.ingest.loader import FrameError, list_frames, load_frames
from monitor.nets.dataset import at_level, prepare, to_unit
from monitor.nets.manifest import InputSpec, ModelError
from monitor.pipeline.batch import analyze_frames
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
            math.nan if v is None or any(f.frame_unusable or f.field == "t1" for f in flags) else v
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


LABELS_SCHEMA = 1


def save_labels(path: Path, run: LabelledRun) -> None:
    """A labelled run's labels (not its frames) in one .npz, written atomically."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp.npz")
    np.savez(
        tmp,
        schema=LABELS_SCHEMA,
        files=np.array(run.files, dtype=str),
        times=run.times,
        t1_c=run.t1_c,
        progress_pct=run.progress_pct,
        stages=np.array([s.value for s in run.stages], dtype=str),
        decoded=run.decoded,
    )
    tmp.replace(path)


def load_labels(path: Path, folder: Path) -> LabelledRun | None:
    """The labels save_labels wrote for `folder`; None when missing, unreadable or of another schema."""
    try:
        with np.load(path, allow_pickle=False) as data:
            if int(data["schema"]) != LABELS_SCHEMA:
                return None
            return LabelledRun(
                name=folder.name,
                folder=folder,
                files=tuple(str(f) for f in data["files"]),
                times=data["times"].astype(float),
                t1_c=data["t1_c"].astype(float),
                progress_pct=data["progress_pct"].astype(float),
                stages=tuple(Stage(str(s)) for s in data["stages"]),
                decoded=data["decoded"].astype(bool),
            )
    except (OSError, KeyError, ValueError) as exc:
        log.warning("%s: cached labels unreadable (%s); labelling again", path, exc)
        return None


def load_inputs(paths: Sequence[Path], spec: InputSpec, *, progress: bool = True) -> np.ndarray:
    """Every frame prepared once (N x H x W x 3 uint8); an undecodable frame becomes mid-grey."""
    out = np.full((len(paths), spec.height, spec.width, 3), 128, dtype=np.uint8)
    frames = tqdm(load_frames(list(paths)), total=len(paths), unit="frame", desc="load", disable=not progress)
    for i, frame in enumerate(frames):
        if not isinstance(frame, FrameError):
            out[i] = prepare(frame.image, spec)
    return out


STATS_BATCH = 256


def channel_stats(
    images: np.ndarray, spec: InputSpec
) -> tuple[tuple[float, float, float], tuple[float, float, float]]:
    """Per-channel mean and std of the frames at the spec's level (0..1 values when absolute), for the
    manifest's normalisation."""
    total = np.zeros(3)
    squares = np.zeros(3)
    count = 0
    for start in range(0, len(images), STATS_BATCH):
        x = at_level(to_unit(images[start : start + STATS_BATCH]), spec).double()
        total += x.sum(dim=(0, 2, 3)).numpy()
        squares += x.pow(2).sum(dim=(0, 2, 3)).numpy()
        count += x.shape[0] * x.shape[2] * x.shape[3]
    mean = total / count
    std = np.maximum(np.sqrt(np.maximum(squares / count - mean**2, 0.0)), 1e-3)
    return (float(mean[0]), float(mean[1]), float(mean[2])), (float(std[0]), float(std[1]), float(std[2]))
