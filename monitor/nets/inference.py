"""A trained model ready to run: its checked manifest and the engine the config asks for."""

import logging
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from monitor.config.models import ModelsConfig
from monitor.nets.dataset import prepare, to_tensor
from monitor.nets.engine import Backend, Engine, build_engine
from monitor.nets.lifecycle import load_model, select_device
from monitor.nets.manifest import InputSpec, Manifest
from monitor.overlay.models import cache_dir

log = logging.getLogger(__name__)

DEFAULT_BACKEND: Backend = "onnx"  # what `bench` measured faster on this project's 2-core CPU


@dataclass(frozen=True, slots=True)
class LoadedModel:
    engine: Engine
    manifest: Manifest

    @property
    def spec(self) -> InputSpec:
        return self.manifest.input

    def inputs(self, images: Sequence[np.ndarray]) -> np.ndarray:
        return to_tensor(np.stack([prepare(image, self.spec) for image in images]), self.spec).numpy()


def load_for_inference(
    folder: Path, *, task: str, device: str, backend: str, threads: int | None
) -> LoadedModel:
    """A model ready to run: checked manifest, safe weights, the engine the config asks for."""
    torch_device = select_device(device)
    net, manifest = load_model(folder, task=task, device=torch_device)  # type: ignore[arg-type]
    spec = manifest.input
    channels = 4 if manifest.task == "forecast" else 3
    sample = np.zeros((1, channels, spec.height, spec.width), dtype=np.float32)
    chosen: Backend = DEFAULT_BACKEND if backend == "auto" else backend  # type: ignore[assignment]
    onnx_path = cache_dir() / "onnx" / f"{manifest.task}-{manifest.weights_sha256[:16]}.onnx"
    engine = build_engine(
        net, backend=chosen, device=torch_device, sample=sample, onnx_path=onnx_path, threads=threads
    )
    log.info("loaded %s from %s (%s)", manifest.task, folder, engine.name)
    return LoadedModel(engine=engine, manifest=manifest)


def load_head_model(models: ModelsConfig, name: str, task: str) -> LoadedModel:
    """A head's trained model, from its folder `<models.dir>/<name>`, on the configured device and engine."""
    return load_for_inference(
        models.dir / name, task=task, device=models.device, backend=models.backend, threads=models.threads
    )
