"""The naive reference reader, as the reference paper did it: PaddleOCR detection + recognition on the whole
overlay box for every frame, then strings sliced by position with the non-digits stripped. Kept to measure
the real reader against, in speed and in accuracy; not used by the pipeline."""

import re
from pathlib import Path

import numpy as np

from monitor.config.overlay import OcrConfig, OverlayConfig
from monitor.overlay.engines import Detector, PaddleDetector, PaddleRecognizer, Recognizer
from monitor.overlay.models import resolve_model_dir
from monitor.records import FieldRead, OverlayReading


class NaiveOverlayReader:
    def __init__(self, *, overlay: OverlayConfig, recognizer: Recognizer, detector: Detector) -> None:
        self.overlay = overlay
        self.recognizer = recognizer
        self.detector = detector

    def new_run(self) -> None:
        """Nothing is remembered between frames."""

    def read(self, image: np.ndarray, *, index: int, name: str) -> OverlayReading:
        b = self.overlay.box
        box = image[b.y : b.y + b.height, b.x : b.x + b.width]
        rects = sorted(self.detector.detect(box), key=lambda r: r[1])
        texts = self.recognizer.recognize([box[y0:y1, x0:x1] for x0, y0, x1, y1 in rects]) if rects else []
        fields = [_field(t.text, t.confidence, skip=skip) for t, skip in zip(texts, (0, 1, 1), strict=False)]
        while len(fields) < 3:
            fields.append(FieldRead(raw="", value=None, confidence=0.0, error="line not detected"))
        return OverlayReading(time=fields[0], t1=fields[1], t2=fields[2])


def _field(text: str, confidence: float, *, skip: int) -> FieldRead:
    # The paper's cleaning: keep the digits, drop the thermocouple number in front.
    digits = re.sub(r"\D", "", text)[skip:]
    if not digits:
        return FieldRead(raw=text, value=None, confidence=confidence, error="no digits")
    return FieldRead(raw=text, value=int(digits), confidence=confidence)


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
