"""Build the overlay reader a config asks for: engine, local model folders, layout source."""

from pathlib import Path

from monitor.config.overlay import OcrConfig, OverlayConfig
from monitor.overlay.engines import PaddleDetector, PaddleRecognizer
from monitor.overlay.models import resolve_model_dir
from monitor.overlay.naive import NaiveOverlayReader
from monitor.overlay.reader import OverlayReader


def build_reader(overlay: OverlayConfig, ocr: OcrConfig, *, cache: Path | None = None) -> OverlayReader:
    """Model folders are checked before anything loads; ModelError names a missing folder and its files."""
    rec_dir = resolve_model_dir(ocr.rec_model_dir, ocr.engine, "rec", cache)
    det_dir = None if overlay.lines else resolve_model_dir(ocr.det_model_dir, ocr.engine, "det", cache)
    recognizer = PaddleRecognizer(rec_dir, ocr.engine)
    detector = PaddleDetector(det_dir, ocr.engine) if det_dir else None
    return OverlayReader(overlay=overlay, ocr=ocr, recognizer=recognizer, detector=detector)


def build_naive_reader(
    overlay: OverlayConfig, ocr: OcrConfig, *, cache: Path | None = None
) -> NaiveOverlayReader:
    """The naive reference (detection + recognition on the whole box every frame), same engine and models."""
    rec_dir = resolve_model_dir(ocr.rec_model_dir, ocr.engine, "rec", cache)
    det_dir = resolve_model_dir(ocr.det_model_dir, ocr.engine, "det", cache)
    return NaiveOverlayReader(
        overlay=overlay,
        recognizer=PaddleRecognizer(rec_dir, ocr.engine),
        detector=PaddleDetector(det_dir, ocr.engine),
    )
