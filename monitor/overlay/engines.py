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
    confidence: float  # the engine's score: the mean of the characters' probabilities
    # Probability of each recognised character; one uncertain digit hides in a high mean. Empty when the
    # engine does not give them.
    char_confidences: tuple[float, ...] = ()

    @property
    def weakest(self) -> float:
        """The least certain digit of the number (the last run of digits) or the mean when the engine gives
        no per-character figures. Marks, '#' and '丝' are uncertain (0.5-0.8) while the number is sure;
        only the number's digits carry the value."""
        return self.digit_confidence(None)

    def digit_confidence(self, number: int | None) -> float:
        """The least certain digit of `number` within the last run of digits (the whole run when it is
        not found there): '2#21283℃' stands for 1283, and its '2' (a misread 丝) does not count."""
        return min(self.digit_confidences(number), default=self.confidence)

    def digit_confidences(self, number: int | None) -> tuple[float, ...]:
        """Each digit's probability, as digit_confidence picks them; empty without per-character figures."""
        if not self.char_confidences:
            return ()
        runs: list[list[tuple[str, float]]] = [[]]
        for ch, p in zip(self.text, self.char_confidences, strict=False):
            if ch.isdigit():
                runs[-1].append((ch, p))
            elif runs[-1] and not ch.isspace():
                runs.append([])
        run = next((r for r in reversed(runs) if r), [])
        digits, want = "".join(ch for ch, _ in run), str(number)
        if number is not None and want in digits:
            start = digits.rfind(want) if digits.endswith(want) else digits.find(want)
            run = run[start : start + len(want)]
        return tuple(p for _, p in run)


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


class _CharScores:
    """Wraps PaddleX's CTC decoder to keep each character's probability, which it averages away.

    Same selection as CTCLabelDecode.decode: argmax per step, repeats collapsed, blanks (index 0) dropped.
    """

    def __init__(self, decode: Any) -> None:
        self._decode = decode
        self.last: list[tuple[float, ...]] = []

    def __call__(self, pred: Any, **kwargs: Any) -> Any:
        probs = np.asarray(pred[0])
        index, best = probs.argmax(axis=-1), probs.max(axis=-1)
        keep = np.ones_like(index, dtype=bool)
        keep[:, 1:] = index[:, 1:] != index[:, :-1]
        keep &= index != 0
        self.last = [tuple(float(p) for p in best[b][keep[b]]) for b in range(len(index))]
        return self._decode(pred, **kwargs)


class PaddleRecognizer:
    """paddleocr.TextRecognition on a batch of line crops (BGR), with per-character confidences."""

    def __init__(self, model: ModelDir, engine: Engine, *, threads: int = 2) -> None:
        self.model = model
        self.engine = engine
        self._model = _load("rec", model, engine, threads=threads)
        predictor = getattr(self._model, "paddlex_predictor", None)
        self._scores: _CharScores | None = None
        if predictor is not None and hasattr(predictor, "post_op"):
            self._scores = predictor.post_op = _CharScores(predictor.post_op)

    @property
    def name(self) -> str:
        return self.model.name

    def recognize(self, crops: list[np.ndarray]) -> list[TextRead]:
        results = self._model.predict(crops, batch_size=len(crops))
        chars = self._scores.last if self._scores is not None else []
        if len(chars) != len(results):
            chars = [()] * len(results)
        return [
            TextRead(
                str(r["rec_text"]), float(r["rec_score"]), c if len(c) == len(str(r["rec_text"])) else ()
            )
            for r, c in zip(results, chars, strict=True)
        ]


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
