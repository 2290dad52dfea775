"""The overlay reader: one frame in, time / 1# / 2# out, each read, parsed, checked and flagged if needed.

Recognition runs on the three line crops only, batched; the line boxes come from the config or are found
once per run, and again when a frame's reads stop parsing. A low-confidence or implausible field is
re-read once with a second preprocessing (upscaled, binarised) before it is flagged.
"""

import logging
from collections.abc import Callable
from dataclasses import dataclass, replace

import numpy as np

from monitor.config.overlay import OcrConfig, OverlayConfig
from monitor.ingest.loader import time_from_name
from monitor.overlay.engines import Detector, Recognizer, TextRead
from monitor.overlay.grammar import Parsed, parse_temperature, parse_time
from monitor.overlay.ink import binarise, trim_to_ink
from monitor.overlay.layout import LayoutError, LineLayout, configured_layout, detect_layout
from monitor.overlay.plausibility import TemperatureCheck, TimeCheck, Verdict
from monitor.records import FieldRead, OverlayReading

log = logging.getLogger(__name__)

_PARSERS: tuple[Callable[[str], Parsed], ...] = (parse_time, parse_temperature, parse_temperature)


@dataclass(frozen=True, slots=True)
class _Attempt:
    """One look at one field: what was recognised, how it parsed, how it was judged."""

    read: TextRead
    parsed: Parsed
    verdict: Verdict
    reread: bool = False
    warning: str | None = None


class OverlayReader:
    """Reads the overlay of the frames of one run, in order; `new_run()` before the next run."""

    def __init__(
        self, *, overlay: OverlayConfig, ocr: OcrConfig, recognizer: Recognizer, detector: Detector | None
    ) -> None:
        self.overlay = overlay
        self.ocr = ocr
        self.recognizer = recognizer
        self.detector = detector
        self._fixed = configured_layout(overlay)
        if self._fixed is None and detector is None:
            raise ValueError("without overlay.lines a text detector is needed to find the lines")
        self.new_run()

    def new_run(self) -> None:
        self._layout: LineLayout | None = self._fixed
        self._time = TimeCheck()
        self._temps = (TemperatureCheck(self.ocr.plausibility), TemperatureCheck(self.ocr.plausibility))

    @property
    def layout(self) -> LineLayout | None:
        return self._layout

    def read(self, image: np.ndarray, *, index: int, name: str) -> OverlayReading:
        """Read one frame; `index` is its 0-based position in the run, `name` its file name."""
        try:
            crops, reads, parsed = self._look(image, refresh=False)
            if self._detected() and self._lost(parsed, index, name):
                log.info("%s: the overlay reads stopped parsing; finding its lines again", name)
                try:
                    crops, reads, parsed = self._look(image, refresh=True)
                except LayoutError as exc:
                    log.warning("%s: %s; keeping the previous line boxes", name, exc)
        except LayoutError as exc:
            return _unreadable(f"overlay not found: {exc}")
        return self._judge(crops, reads, parsed, index=index, name=name)

    def _look(
        self, image: np.ndarray, *, refresh: bool
    ) -> tuple[list[np.ndarray], list[TextRead], list[Parsed]]:
        crops = self._crops(image, refresh=refresh)
        reads = self.recognizer.recognize([trim_to_ink(c) for c in crops])
        return crops, reads, [parse(r.text) for parse, r in zip(_PARSERS, reads, strict=True)]

    def _detected(self) -> bool:
        return self._layout is not None and self._layout.source == "detected"

    def _lost(self, parsed: list[Parsed], index: int, name: str) -> bool:
        """A line that yields no number, or a time that is not the one expected: the boxes may have moved."""
        if not all(p.candidates for p in parsed):
            return True
        expected = self._time.expected(index, time_from_name(name))
        return expected is not None and expected not in parsed[0].candidates

    def _crops(self, image: np.ndarray, *, refresh: bool) -> list[np.ndarray]:
        if self._layout is None or refresh:
            assert self.detector is not None
            self._layout = detect_layout(image, self.overlay, self.detector)
            log.info("overlay lines found at %s", self._layout.lines)
        return self._layout.crops(image)

    def _judge(
        self, crops: list[np.ndarray], reads: list[TextRead], parsed: list[Parsed], *, index: int, name: str
    ) -> OverlayReading:
        name_time = time_from_name(name)

        def judge_time(p: Parsed) -> Verdict:
            return self._time.evaluate(p.candidates, index, name_time)

        time_attempt = self._settle(
            0, _Attempt(reads[0], parsed[0], judge_time(parsed[0])), crops[0], judge_time
        )
        self._time.commit(time_attempt.verdict, index)
        # Temperatures are rated against the time read, else the file name's, else the frame position.
        time_s = float(next(t for t in (time_attempt.verdict.value, name_time, index) if t is not None))

        fields = [self._field(time_attempt)]
        for i, check in zip((1, 2), self._temps, strict=True):
            attempt = _Attempt(reads[i], parsed[i], check.evaluate(parsed[i].candidates, time_s))
            attempt = self._settle(i, attempt, crops[i], lambda p, c=check: c.evaluate(p.candidates, time_s))
            check.commit(attempt.verdict, attempt.parsed.candidates, time_s)
            fields.append(self._field(attempt))
        return OverlayReading(time=fields[0], t1=fields[1], t2=fields[2])

    def _settle(
        self, line: int, attempt: _Attempt, crop: np.ndarray, evaluate: Callable[[Parsed], Verdict]
    ) -> _Attempt:
        """Keep a confident, plausible read; otherwise re-read once with the second preprocessing.

        A confident read that fails only the rate check is what the display really shows if an independent
        second read agrees (the unreliable thermocouple does jump): it is kept, with a warning.
        """
        confident = attempt.read.confidence >= self.ocr.min_confidence
        if attempt.verdict.value is not None and confident:
            return attempt
        (again,) = self.recognizer.recognize([binarise(crop)])
        parsed = _PARSERS[line](again.text)
        second = _Attempt(again, parsed, evaluate(parsed), reread=True)
        sure = again.confidence >= self.ocr.min_confidence
        if second.verdict.value is not None and (sure or second.verdict.value == attempt.verdict.value):
            return second
        suspect = attempt.verdict.suspect
        if confident and sure and suspect is not None and suspect in parsed.candidates:
            return replace(
                attempt,
                verdict=Verdict(suspect),
                warning=f"{attempt.verdict.error} (confirmed by a second read)",
            )
        if attempt.verdict.value is None:
            return attempt
        # Plausible but not confident, and the second look does not confirm it: flag it.
        error = f"low confidence {attempt.read.confidence:.2f}, re-read gave {again.text!r}"
        return _Attempt(attempt.read, attempt.parsed, Verdict(None, error))

    @staticmethod
    def _field(attempt: _Attempt) -> FieldRead:
        return FieldRead(
            raw=attempt.read.text,
            value=attempt.verdict.value,
            confidence=attempt.read.confidence,
            error=None
            if attempt.verdict.value is not None
            else attempt.parsed.error or attempt.verdict.error,
            reread=attempt.reread,
            warning=attempt.warning,
        )


def _unreadable(reason: str) -> OverlayReading:
    blank = FieldRead(raw="", value=None, confidence=0.0, error=reason)
    return OverlayReading(time=blank, t1=blank, t2=blank)
