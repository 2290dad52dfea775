"""The model-stage engines side by side at batch 1, on a real prepared frame: torch, torch with
channels_last, onnxruntime. The number behind `models.backend: auto`. Run in its own process."""

import logging
import statistics
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import torch

from monitor.ingest.loader import load_frame
from monitor.nets.dataset import prepare, to_tensor
from monitor.nets.engine import Engine, OnnxEngine, TorchEngine
from monitor.nets.forecast import dt_scale_of, forecast_input
from monitor.nets.inference import DEFAULT_BACKEND
from monitor.nets.lifecycle import load_model
from monitor.nets.manifest import Manifest, Task
from monitor.nets.runtime import FORECAST_DIR, REGRESSOR_DIR
from monitor.overlay.models import cache_dir

log = logging.getLogger(__name__)

MODELS: tuple[tuple[str, Task], ...] = ((REGRESSOR_DIR, "temperature_progress"), (FORECAST_DIR, "forecast"))


def time_calls(call: Callable[[], object], *, warmup: int = 3, repeats: int = 20) -> dict[str, float]:
    """Median and spread of `repeats` calls, ms, after `warmup` calls (first-run allocations, kernels)."""
    for _ in range(warmup):
        call()
    samples = []
    for _ in range(repeats):
        started = time.perf_counter()
        call()
        samples.append((time.perf_counter() - started) * 1000.0)
    return {
        "median_ms": round(statistics.median(samples), 2),
        "min_ms": round(min(samples), 2),
        "max_ms": round(max(samples), 2),
    }


def model_input(manifest: Manifest, image: np.ndarray, horizon_s: float) -> np.ndarray:
    """What the model step feeds the engine for one frame (batch 1)."""
    x = to_tensor(prepare(image, manifest.input)[None], manifest.input)
    if manifest.task == "forecast":
        x = forecast_input(x, horizon_s, dt_scale_of(manifest))
    return x.numpy()


def engines_for(folder: Path, task: Task, sample: np.ndarray) -> dict[str, Callable[[], Engine]]:
    """Builders of each engine on a fresh copy of the net (channels_last converts it in place)."""
    device = torch.device("cpu")

    def fresh() -> tuple[torch.nn.Module, Manifest]:
        return load_model(folder, task=task, device=device)

    def onnx() -> Engine:
        net, manifest = fresh()
        # the runtime's cache file, so the daemon started later finds it exported
        path = cache_dir() / "onnx" / f"{manifest.task}-{manifest.weights_sha256[:16]}.onnx"
        return OnnxEngine(net, sample, path)

    return {
        "torch": lambda: TorchEngine(fresh()[0], device),
        "torch+channels_last": lambda: TorchEngine(fresh()[0], device, channels_last=True),
        "onnx": onnx,
    }


def measure_engines(models_dir: Path, frame: Path, horizon_s: float = 10.0) -> dict[str, Any]:
    """Per model: each engine's batch-1 call time, the fastest, and what `auto` picks."""
    image = load_frame(frame, 0).image
    found: dict[str, Any] = {}
    for sub, task in MODELS:
        folder = models_dir / sub
        if not (folder / "manifest.json").is_file():
            continue
        manifest = load_model(folder, task=task, device=torch.device("cpu"))[1]
        sample = model_input(manifest, image, horizon_s)
        figures = {}
        for name, build in engines_for(folder, task, sample).items():
            engine = build()
            figures[name] = time_calls(lambda engine=engine, sample=sample: engine(sample))  # type: ignore[misc]
            log.info("%s on %s: %.1f ms", task, name, figures[name]["median_ms"])
        spec = manifest.input
        found[task] = {
            "input": f"{sample.shape[1]}x{spec.height}x{spec.width}",
            "architecture": manifest.architecture.name,
            "params": manifest.architecture.params,
            **figures,
            "fastest": min(figures, key=lambda k: figures[k]["median_ms"]),
        }
    return {"default_backend": DEFAULT_BACKEND, "torch_threads": torch.get_num_threads(), "models": found}
