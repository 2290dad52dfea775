"""PaddleOCR text recognition and detection behind two small interfaces, for either engine."""

import logging
import os
from dataclasses import dataclass
from typing import Any, Protocol

import numpy as np

from monitor.overlay.models import Engine, ModelDir

log = logging.getLogger(__name__)

# PaddleX probes model hosting sites at import unless told not to; this machine has no such network.
os.environ.setdefault("PADDLE_PDX_DISABLE_MODEL_SOURCE_CHECK", "True")


@dataclass(frozen=True, slots=True)
class TextRead:
    text: str
    confidence: float


class Recognizer(Protocol):
    def recognize(self, crops: list[np.ndarray]) -> list[TextRead]: ...


class Detector(Protocol):
    def detect(self, image: np.ndarray) -> list[tuple[int, int, int, int]]: ...


def _load(task: str, model: ModelDir, engine: Engine, *, threads: int) -> Any:
    """A PaddleOCR TextRecognition ("rec") or TextDetection ("det") predictor from a local folder."""
    import paddleocr

    if engine == "onnxruntime":
        # One thread: three short line crops gain nothing from a second, whose spinning after each call
        # slowed the stages that run next on the same two cores (`bench`: digitize about 2x faster).
        options: dict[str, object] = {
            "engine": "onnxruntime",
            "device": "cpu",
            "engine_config": {"intra_op_num_threads": 1},
        }
    else:
        # oneDNN speeds recognition up ~1.8x; PaddlePaddle 3.3.1's detection model crashes with it on.
        options = {"device": "cpu", "enable_mkldnn": task == "rec", "cpu_threads": threads}
    factory = paddleocr.TextRecognition if task == "rec" else paddleocr.TextDetection
    predictor = factory(model_name=model.name, model_dir=str(model.path), **options)
    log.info("OCR %s: %s (%s) from %s", task, model.name, engine, model.path)
    return predictor


class PaddleRecognizer:
    """paddleocr.TextRecognition on a batch of line crops (BGR)."""

    def __init__(self, model: ModelDir, engine: Engine, *, threads: int = 2) -> None:
        self.model = model
        self._model = _load("rec", model, engine, threads=threads)

    def recognize(self, crops: list[np.ndarray]) -> list[TextRead]:
        results = self._model.predict(crops, batch_size=len(crops))
        return [TextRead(str(r["rec_text"]), float(r["rec_score"])) for r in results]


class PaddleDetector:
    """paddleocr.TextDetection: axis-aligned boxes (x0, y0, x1, y1) of the text lines in an image."""

    def __init__(self, model: ModelDir, engine: Engine, *, threads: int = 2) -> None:
        self.model = model
        self._model = _load("det", model, engine, threads=threads)

    def detect(self, image: np.ndarray) -> list[tuple[int, int, int, int]]:
        (result,) = self._model.predict(image)
        boxes = []
        for poly in result["dt_polys"]:
            pts = np.asarray(poly)
            boxes.append(
                (int(pts[:, 0].min()), int(pts[:, 1].min()), int(pts[:, 0].max()), int(pts[:, 1].max()))
            )
        return boxes
