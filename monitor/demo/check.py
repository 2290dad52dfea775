"""The trained models on the live run, after the fact: 1# from the image and progress against the run's
truth (a seed the models never saw), and one forecast frame next to the real frame it foresees. Only the
model step runs here (the overlay was read live and for the report already)."""

import csv
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

import cv2

from monitor.analytics.progress import with_image
from monitor.config.models import ModelsConfig
from monitor.config.overlay import Box
from monitor.evaluation.models import ModelScore, score_predictions, training_means
from monitor.ingest.loader import FrameError, list_frames, load_frames
from monitor.nets.heads.forecast import ForecastHead
from monitor.nets.heads.temperature_progress import RegressorHead
from monitor.nets.inference import LoadedModel, load_for_inference
from monitor.nets.runtime import FORECAST_DIR, REGRESSOR_DIR, ModelStep
from monitor.records import Prediction, ProgressEstimate

BATCH = 32


@dataclass(frozen=True, slots=True)
class ForecastShot:
    source: Path  # the frame the forecast starts from
    forecast: Path  # the forecast frame, horizon_s later
    actual: Path | None  # the real frame horizon_s later, when the run has it
    horizon_s: float


def check_models(
    run_dir: Path, models: ModelsConfig, sample_box: Box | None,
    published: Mapping[str, ProgressEstimate | None] | None = None,
) -> tuple[ModelScore, ForecastShot | None]:  # fmt: skip
    """The regressor on every frame, scored against the truth. `published`: each frame's progress as the
    live run (without the models, which were trained after it) published it; where the run's history could
    not tell, the pipeline takes the image model's reading, as it does live with the models loaded."""

    def load(sub: str, task: str) -> LoadedModel:
        return load_for_inference(
            models.dir / sub, task=task, device=models.device, backend="torch", threads=models.threads
        )

    regressor = ModelStep([RegressorHead(load(REGRESSOR_DIR, "temperature_progress"))])
    paths = list_frames(run_dir)
    predictions: list[Prediction | None] = []
    batch = []
    for frame in load_frames(paths):
        batch.append(None if isinstance(frame, FrameError) else frame.image)
        if len(batch) == BATCH or len(predictions) + len(batch) == len(paths):
            good = [image for image in batch if image is not None]
            out = iter(regressor.predict(good) if good else [])
            predictions += [None if image is None else next(out) for image in batch]
            batch = []
    published = published or {}
    live = [
        with_image(published.get(path.name), None if p is None else p.progress_image_pct)
        for path, p in zip(paths, predictions, strict=True)
    ]
    score = score_predictions(
        [p.name for p in paths], predictions, run_dir / "truth.csv", train_means=training_means(models.dir),
        progress_live=live,
    )  # fmt: skip
    shot = None
    if models.forecast_images is not None:
        head = ForecastHead(
            load(FORECAST_DIR, "forecast"), horizon_s=models.forecast_horizon_s, images=models.forecast_images
        )
        forecaster = ModelStep([head])
        if sample_box is not None:
            forecaster.set_sample_box(sample_box)
        shot = _forecast_shot(run_dir, forecaster, models.forecast_horizon_s)
    return score, shot


def _forecast_shot(run_dir: Path, step: ModelStep, horizon_s: float) -> ForecastShot | None:
    """The forecast from the middle of the true crystallization, where the picture changes most."""
    with (run_dir / "truth.csv").open(encoding="utf-8") as f:
        rows = list(csv.DictReader(f))
    growing = [r for r in rows if r.get("stage") == "crystallizing"] or rows
    source = growing[len(growing) // 2]
    image = cv2.imread(str(run_dir / source["file"]))
    if image is None:
        return None
    (prediction,) = step.predict([image], names=[(run_dir.name, source["file"])])
    if prediction.forecast is None or prediction.forecast.image is None:
        return None
    later = float(source["time_s"]) + horizon_s
    actual = next((run_dir / r["file"] for r in rows if float(r["time_s"]) == later), None)
    return ForecastShot(run_dir / source["file"], Path(prediction.forecast.image), actual, horizon_s)
