"""The naive reference pipeline, measured beside ours on the same frames: what a first version would run.

Per frame, sequentially in one thread: decode the JPEG; PaddleOCR detection + recognition on the whole
overlay box with the Paddle engine (`build_naive_reader`); the same features and stage detector as ours;
two separate full ResNet18s (torchvision, 1 output each) for 1# and progress at our regressor's input
size; the full-size pix2pix generator (ngf 64, depth 8) at 256x256; torch eager, default layout. Weights
are untrained (random initialisation): the work per frame, and so the time, does not depend on them.
"""

import logging
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import torch
import torchvision

from monitor.analytics.features import FeatureExtractor
from monitor.bench.stats import percentiles, step_means
from monitor.config import parse_config
from monitor.evaluation.naive_ocr import build_naive_reader
from monitor.ingest.loader import load_frame
from monitor.nets.dataset import from_tensor, prepare, to_tensor
from monitor.nets.forecast import ForecastOptions, forecast_input
from monitor.nets.manifest import InputSpec, ModelError, read_manifest
from monitor.nets.pix2pix import UNetGenerator
from monitor.nets.runtime import FORECAST_DIR, REGRESSOR_DIR
from monitor.pipeline.process import FrameProcessor

log = logging.getLogger(__name__)

FORECAST_SIZE, FORECAST_NGF, FORECAST_DEPTH = 256, 64, 8
DEFAULT_REGRESSOR = InputSpec(width=320, height=240)  # the regressor recipe's default input
HORIZON_S, DT_SCALE = 10.0, 30.0  # the model step's default horizon, the forecast recipe's dt scale


def input_specs(models_dir: Path) -> tuple[InputSpec, InputSpec]:
    """The inputs our models take (size, crop, blanked overlay), so the naive nets see the same pixels;
    the forecast at full size whatever ours is. Recipe defaults where a model is missing."""
    try:
        regressor = read_manifest(models_dir / REGRESSOR_DIR).input
    except ModelError:
        regressor = DEFAULT_REGRESSOR
    try:
        forecast = read_manifest(models_dir / FORECAST_DIR).input
    except ModelError:
        forecast = InputSpec(width=FORECAST_SIZE, height=FORECAST_SIZE, view=ForecastOptions().view)
    return regressor, forecast.model_copy(update={"width": FORECAST_SIZE, "height": FORECAST_SIZE})


class NaiveModels:
    """Three separate eager torch nets, one after the other."""

    def __init__(self, regressor: InputSpec, forecast: InputSpec) -> None:
        torch.manual_seed(0)
        self.regressor_spec, self.forecast_spec = regressor, forecast
        self.temperature = torchvision.models.resnet18(weights=None, num_classes=1).eval()
        self.progress = torchvision.models.resnet18(weights=None, num_classes=1).eval()
        self.forecast = UNetGenerator(ngf=FORECAST_NGF, depth=FORECAST_DEPTH).eval()

    def predict(self, image: np.ndarray) -> dict[str, float]:
        """Runs the three nets on one BGR frame; returns each one's milliseconds (preprocessing included)."""
        ms: dict[str, float] = {}
        with torch.inference_mode():
            started = time.perf_counter()
            x = to_tensor(prepare(image, self.regressor_spec)[None], self.regressor_spec)
            self.temperature(x)
            ms["resnet_temperature"] = _since(started)
            started = time.perf_counter()
            self.progress(x)
            ms["resnet_progress"] = _since(started)
            started = time.perf_counter()
            now = to_tensor(prepare(image, self.forecast_spec)[None], self.forecast_spec)
            ahead = from_tensor(self.forecast(forecast_input(now, HORIZON_S, DT_SCALE)), self.forecast_spec)
            float(np.abs(ahead.astype(np.float32) - from_tensor(now, self.forecast_spec)).mean())
            ms["pix2pix"] = _since(started)
        return ms


def _since(started: float) -> float:
    return (time.perf_counter() - started) * 1000.0


class NaivePipeline:
    def __init__(self, models_dir: Path) -> None:
        config = parse_config({"ocr": {"engine": "paddle"}}, env={})
        self.processor = FrameProcessor(
            reader=build_naive_reader(config.overlay, config.ocr),
            features=FeatureExtractor(config.analytics, config.overlay),
            confirm_frames=config.analytics.confirm_frames,
        )
        self.models = NaiveModels(*input_specs(models_dir))

    def run(self, paths: Sequence[Path]) -> list[dict[str, float]]:
        """Every frame, one stage after the other; per frame its stage times and `total` (ms)."""
        self.processor.new_run()
        frames = []
        for index, path in enumerate(paths):
            started = time.perf_counter()
            frame = load_frame(path, index)
            decoded = _since(started)
            result = self.processor.process(frame, run="naive")
            nets = self.models.predict(frame.image)
            frames.append({"decode": decoded, **dict(result.step_ms), **nets, "total": _since(started)})
        return frames


def measure_naive(warmup: list[Path], measured: list[Path], models_dir: Path) -> dict[str, Any]:
    """frames/s of the naive pipeline, its per-frame time and where it goes."""
    pipeline = NaivePipeline(models_dir)
    if warmup:
        pipeline.run(warmup)
    started = time.perf_counter()
    frames = pipeline.run(measured)
    fps = len(measured) / (time.perf_counter() - started)
    log.info("naive pipeline: %.2f frames/s", fps)
    stages = step_means({k: v for k, v in f.items() if k != "total"} for f in frames)
    nets = ("resnet_temperature", "resnet_progress", "pix2pix")
    m = pipeline.models
    return {
        "throughput_fps": round(fps, 3),
        "frame_ms": percentiles([f["total"] for f in frames]),
        "stages_ms": {k: round(v, 2) for k, v in stages.items()},
        "models_ms": round(sum(stages.get(k, 0.0) for k in nets), 2),
        "inputs": {
            "resnet18": f"{m.regressor_spec.width}x{m.regressor_spec.height}",
            "pix2pix": f"{m.forecast_spec.width}x{m.forecast_spec.height}",
        },
        "torch_threads": torch.get_num_threads(),
    }
