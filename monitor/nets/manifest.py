"""`manifest.json`: what a trained model is, how it was made and how well it does on held-out frames.

Loading refuses a model whose manifest does not match what the caller expects, so a checkpoint can never
be used with the wrong preprocessing or the wrong architecture."""

import json
import platform
from datetime import UTC, datetime
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from monitor.config.overlay import Box
from monitor.overlay.models import ModelError  # one error type for every model the service loads

# 2: InputSpec.level (per-frame brightness normalisation) and the overlay blanked in black under it.
SCHEMA_VERSION = 2
MANIFEST_NAME = "manifest.json"
WEIGHTS_NAME = "weights.pt"

Task = Literal["temperature_progress", "forecast"]
# How a frame's overall brightness reaches the network: "absolute" as the camera recorded it; "frame_median":
# each frame divided by its median grey level first, so a camera gain (auto exposure) drops out and the colour
# ratios of the glow, which carry the temperature, stay (monitor.nets.dataset.normalise_frames).
Level = Literal["absolute", "frame_median"]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class InputSpec(_Strict):
    """How a camera frame becomes the network's input; inference must do exactly the same."""

    width: int = Field(gt=0)
    height: int = Field(gt=0)
    colour: Literal["RGB"] = "RGB"
    view: Box | None = None  # crop of the frame before resizing; None = the whole frame
    blank: tuple[Box, ...] = ()  # frame regions painted over first (the burned-in overlay)
    level: Level = "absolute"
    mean: tuple[float, float, float] = (0.5, 0.5, 0.5)  # per channel, on 0..1 values
    std: tuple[float, float, float] = (0.5, 0.5, 0.5)


class Architecture(_Strict):
    name: str  # the factory key in monitor.nets.networks
    params: dict[str, int | float | str | bool] = Field(default_factory=dict)


class TargetScale(_Strict):
    """A regression target is learnt as (value - offset) / scale."""

    name: str
    unit: str
    offset: float
    scale: float = Field(gt=0)


class TrainingRun(_Strict):
    name: str
    folder: str
    frames: int
    labelled: int  # frames with a usable label


class Split(_Strict):
    method: Literal["time_blocks", "by_run"]
    block_s: float | None = None  # time_blocks: block length; every `holdout_every`-th block is held out
    holdout_every: int | None = None
    gap_s: float = 0.0  # frames this close to a block border belong to neither side
    heldout_runs: tuple[str, ...] = ()
    train_frames: int
    heldout_frames: int


class Versions(_Strict):
    furnace_monitor: str
    torch: str
    torchvision: str
    python: str = Field(default_factory=platform.python_version)


class Manifest(_Strict):
    schema_version: int = SCHEMA_VERSION
    name: str
    task: Task
    architecture: Architecture
    input: InputSpec
    targets: tuple[TargetScale, ...] = ()
    training: dict[str, int | float | str | bool | None]  # the recipe's options and its measured time
    runs: tuple[TrainingRun, ...]
    split: Split
    metrics: dict[str, float]  # held-out metrics of the model
    baselines: dict[str, float]  # the same metrics for the simple baselines
    versions: Versions
    weights_file: str = WEIGHTS_NAME
    weights_sha256: str = Field(pattern=r"^[0-9a-f]{64}$")
    created: str = Field(default_factory=lambda: datetime.now(UTC).isoformat(timespec="seconds"))


def write_manifest(folder: Path, manifest: Manifest) -> Path:
    path = folder / MANIFEST_NAME
    tmp = path.with_suffix(".json.tmp")
    tmp.write_text(manifest.model_dump_json(indent=2) + "\n", encoding="utf-8")
    tmp.replace(path)
    return path


def read_manifest(folder: Path, *, task: Task | None = None) -> Manifest:
    path = folder / MANIFEST_NAME
    if not path.is_file():
        raise ModelError(
            f"{folder}: no {MANIFEST_NAME}; train one with `furnace-monitor train FRAMES -o DIR`"
        )
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError) as exc:
        raise ModelError(f"{path}: not readable JSON ({exc})") from exc
    if isinstance(data, dict) and data.get("schema_version") != SCHEMA_VERSION:
        raise ModelError(
            f"{path}: schema_version {data.get('schema_version')!r}, this version reads {SCHEMA_VERSION}; "
            "train the model again with `furnace-monitor train FRAMES -o DIR`"
        )
    try:
        manifest = Manifest.model_validate(data)
    except ValidationError as exc:
        problems = "; ".join(f"{'.'.join(map(str, e['loc']))}: {e['msg']}" for e in exc.errors())
        raise ModelError(f"{path}: invalid manifest ({problems})") from exc
    if task is not None and manifest.task != task:
        raise ModelError(f"{path}: a {manifest.task!r} model, expected {task!r}")
    return manifest


def current_versions() -> Versions:
    import torch
    import torchvision

    from monitor import __version__

    return Versions(furnace_monitor=__version__, torch=torch.__version__, torchvision=torchvision.__version__)
