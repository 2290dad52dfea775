"""The model step of the pipeline: frames in, Predictions out (1# from the picture, progress, forecast)."""

import logging
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np
import torch

from monitor.analytics.locate import default_box
from monitor.config.analytics import AnalyticsConfig
from monitor.config.models import ModelsConfig
from monitor.config.overlay import Box
from monitor.nets.dataset import from_tensor, prepare, to_tensor
from monitor.nets.engine import Backend, Engine, build_engine
from monitor.nets.forecast import dt_scale_of, forecast_input, input_box
from monitor.nets.lifecycle import load_model, select_device
from monitor.nets.manifest import InputSpec, Manifest, ModelError
from monitor.nets.regressor import decode_outputs
from monitor.overlay.models import cache_dir
from monitor.records import Forecast, Prediction

log = logging.getLogger(__name__)

REGRESSOR_DIR = "temperature_progress"
FORECAST_DIR = "forecast"
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


class ModelStep:
    """Runs whichever models are loaded on a batch of decoded BGR frames."""

    def __init__(
        self,
        *,
        regressor: LoadedModel | None,
        forecaster: LoadedModel | None,
        horizon_s: float,
        sample_roi: Box | None,
        forecast_images: Path | None = None,
    ) -> None:
        if regressor is None and forecaster is None:
            raise ModelError("the model step needs at least one model")
        self.regressor = regressor
        self.forecaster = forecaster
        self.horizon_s = horizon_s
        self.forecast_images = forecast_images
        self._region: tuple[slice, slice] | None = None
        self._dt_scale: float | None = None
        self._configured_roi = sample_roi
        if forecaster is not None:
            self._dt_scale = dt_scale_of(forecaster.manifest)
            if sample_roi is not None:
                self.set_sample_box(sample_roi)

    def set_sample_box(self, box: Box) -> None:
        """The sample box of the current run (located per run); a configured analytics.sample_roi wins.
        The forecast's summary numbers are taken inside it."""
        if self.forecaster is None:
            return
        box = self._configured_roi or box
        roi = input_box(Box(x=box.x, y=box.y, width=box.width, height=box.height), self.forecaster.spec)
        self._region = slice(roi.y, roi.y + roi.height), slice(roi.x, roi.x + roi.width)

    def predict(
        self, images: Sequence[np.ndarray], *, names: Sequence[tuple[str, str]] = ()
    ) -> list[Prediction]:
        """One Prediction per image; `names` = (run, file) per image, for saving forecast frames."""
        n = len(images)
        t1: Sequence[float | None] = [None] * n
        progress: Sequence[float | None] = [None] * n
        if self.regressor is not None:
            out = self.regressor.engine(self.regressor.inputs(images))
            t1_arr, progress_arr = decode_outputs(torch.from_numpy(out), self.regressor.manifest.targets)
            t1, progress = [float(v) for v in t1_arr], [float(v) for v in progress_arr]
        forecasts: Sequence[Forecast | None] = [None] * n
        if self.forecaster is not None:
            forecasts = self._forecast(images, names)
        return [
            Prediction(t1_image_c=t1[i], progress_pct=progress[i], forecast=forecasts[i]) for i in range(n)
        ]

    def _forecast(self, images: Sequence[np.ndarray], names: Sequence[tuple[str, str]]) -> list[Forecast]:
        assert self.forecaster is not None and self._dt_scale is not None
        x = torch.from_numpy(self.forecaster.inputs(images))  # a frame of the wrong size fails here, clearly
        if self._region is None:  # no box told yet: the default camera's, for this frame size
            h, w = images[0].shape[:2]
            self.set_sample_box(default_box(w, h))
        assert self._region is not None
        out = self.forecaster.engine(forecast_input(x, self.horizon_s, self._dt_scale).numpy())
        spec = self.forecaster.spec
        now_rgb = from_tensor(x, spec)
        ahead_rgb = from_tensor(torch.from_numpy(out), spec)
        rows, cols = self._region
        result = []
        for i in range(len(images)):
            ahead = ahead_rgb[i][rows, cols].astype(np.float32)
            now = now_rgb[i][rows, cols].astype(np.float32)
            saved = None
            if self.forecast_images is not None and i < len(names):
                saved = self._save(ahead_rgb[i], *names[i])
            result.append(
                Forecast(
                    horizon_s=self.horizon_s,
                    mean=float(ahead.mean()),
                    change=float(np.abs(ahead - now).mean()),
                    image=saved,
                )
            )
        return result

    def _save(self, rgb: np.ndarray, run: str, file: str) -> str | None:
        assert self.forecast_images is not None
        path = self.forecast_images / run / file
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            tmp = path.with_name(f".{path.name}.tmp.jpg")
            cv2.imwrite(str(tmp), cv2.cvtColor(rgb, cv2.COLOR_RGB2BGR))
            tmp.replace(path)
        except OSError as exc:  # a full disk must not stop the numbers
            log.warning("forecast frame not saved to %s: %s", path, exc)
            return None
        return str(path)


def build_model_step(models: ModelsConfig, analytics: AnalyticsConfig) -> ModelStep | None:
    """The models a config enables, loaded; None when the model step is off."""
    if not models.enabled:
        return None
    started = time.perf_counter()

    def load(sub: str, task: str) -> LoadedModel:
        return load_for_inference(
            models.dir / sub, task=task, device=models.device, backend=models.backend, threads=models.threads
        )

    step = ModelStep(
        regressor=load(REGRESSOR_DIR, "temperature_progress") if models.temperature_progress else None,
        forecaster=load(FORECAST_DIR, "forecast") if models.forecast else None,
        horizon_s=models.forecast_horizon_s,
        sample_roi=analytics.sample_roi,
        forecast_images=models.forecast_images,
    )
    log.info("model step ready in %.1f s", time.perf_counter() - started)
    return step
