"""Build the overlay reader a config asks for: engine, local model folders, layout source."""

import logging
from pathlib import Path

from monitor.config.overlay import OcrConfig, OverlayConfig
from monitor.overlay.engines import PaddleDetector, PaddleRecognizer
from monitor.overlay.models import (
    Engine,
    ModelError,
    packaged_model_dir,
    resolve_model_dir,
    second_opinion_dir,
)
from monitor.overlay.reader import OverlayReader

log = logging.getLogger(__name__)


def _second_recognizer(engine: Engine, cache: Path | None) -> PaddleRecognizer:
    """The other model: a second opinion whose misreads are not the first one's. PP-OCRv6_tiny's
    doubtful lines go to PP-OCRv5_mobile (run through onnxruntime: same scores as Paddle inference,
    ~3.5x faster on this CPU); PP-OCRv5_mobile's (engine paddle) go to PP-OCRv6_tiny."""
    if engine == "onnxruntime":
        return PaddleRecognizer(second_opinion_dir(cache), "onnxruntime")
    return PaddleRecognizer(packaged_model_dir("onnxruntime", "rec", cache), "onnxruntime")


def build_reader(
    overlay: OverlayConfig, ocr: OcrConfig, *, cache: Path | None = None, second_opinion: bool = True
) -> OverlayReader:
    """Model folders are checked before anything loads; ModelError names a missing folder and its files.

    The second model is the packaged one (a configured rec_model_dir is the first engine's); when its
    package is missing, doubtful lines get only the binarised second look.
    """
    rec_dir = resolve_model_dir(ocr.rec_model_dir, ocr.engine, "rec", cache)
    det_dir = None if overlay.lines else resolve_model_dir(ocr.det_model_dir, ocr.engine, "det", cache)
    second = None
    if second_opinion:
        try:
            second = _second_recognizer(ocr.engine, cache)
        except ModelError as exc:
            log.warning("no second OCR engine (%s); doubtful lines are re-read by the first only", exc)
    recognizer = PaddleRecognizer(rec_dir, ocr.engine)
    detector = PaddleDetector(det_dir, ocr.engine) if det_dir else None
    return OverlayReader(overlay=overlay, ocr=ocr, recognizer=recognizer, detector=detector, second=second)
