"""The overlay reader: one frame in, time / 1# / 2# out, each read, parsed, checked and flagged if needed.

Recognition runs on the three line crops only, batched; the line boxes come from the config or are found
once per run (see layout.LayoutKeeper). A field is accepted on one read when that read is sure: plausible,
confident down to the weakest digit of its number and, for 1#, on its trend. Otherwise the first model
reads it at the run's other width (scale.py: a read sure there is taken as a sure first read), then the
other model reads it, and if the two disagree the first model reads it once more, upscaled and
binarised; opinion.decide settles it or flags it.
"""

import logging
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from monitor.config.overlay import OcrConfig, OverlayConfig
from monitor.ingest.loader import time_from_name
from monitor.overlay.engines import Detector, Recognizer, TextRead
from monitor.overlay.grammar import Parsed, parse_temperature, parse_time
from monitor.overlay.ink import binarise, trim_to_ink
from monitor.overlay.layout import LayoutError, LayoutKeeper, LineLayout
from monitor.overlay.opinion import Decision, Look, decide
from monitor.overlay.plausibility import TemperatureCheck, TimeCheck, Verdict
from monitor.overlay.scale import WIDTHS, WidthKeeper, widen
from monitor.overlay.trend import TrendCheck, TrendVerdict
from monitor.overlay.trust import PairTrust, pair_hesitant
from monitor.records import FieldRead, OverlayReading

log = logging.getLogger(__name__)

_PARSERS: tuple[Callable[[str], Parsed], ...] = (parse_time, parse_temperature, parse_temperature)
# A read whose number has a digit below this is re-read, however high its mean: a lone digit swapped for
# its neighbour (1180 with its 8 at 0.56, a serif font) shows as one digit at 0.5-0.9 among 0.99s.
MIN_CHAR_CONFIDENCE = 0.9


@dataclass(slots=True)
class ReadCounts:
    """How much work a run took: frames, and the extra looks at doubtful fields."""

    frames: int = 0
    second_engine: int = 0  # field reads by the other engine
    binarised: int = 0  # field reads of the binarised crop
    widened: int = 0  # field reads by the first engine at the run's other width
    width_switches: int = 0  # times the run's first width changed
    trusted: int = 0  # pair-hesitant first reads accepted on the run's trust (trust.py)


@dataclass(slots=True)
class _Field:
    """One field of the frame being read: its crop, its looks so far and how to judge a parse."""

    line: int
    crop: np.ndarray
    judge: Callable[[Parsed], Verdict]
    looks: list[Look]
    decision: Decision | None = None


class OverlayReader:
    """Reads the overlay of the frames of one run, in order; `new_run()` before the next run."""

    def __init__(
        self,
        *,
        overlay: OverlayConfig,
        ocr: OcrConfig,
        recognizer: Recognizer,
        detector: Detector | None,
        second: Recognizer | None = None,
        widths: tuple[float, ...] = WIDTHS,
    ) -> None:
        self.overlay = overlay
        self.ocr = ocr
        self.recognizer = recognizer
        self.second = second
        self.detector = detector
        self._layouts = LayoutKeeper(overlay, detector, min_confidence=ocr.min_confidence)
        self._widths = WidthKeeper(widths)
        self._trust = PairTrust()
        self.new_run()

    def fresh(self) -> "OverlayReader":
        """A reader with a run state of its own that shares this one's models (loaded once, stateless)."""
        r = self
        return OverlayReader(overlay=r.overlay, ocr=r.ocr, recognizer=r.recognizer, detector=r.detector,
                             second=r.second, widths=r._widths.widths)  # fmt: skip

    def new_run(self) -> None:
        self._layouts.new_run()
        self._widths.new_run()
        self._trust.new_run()
        self._time = TimeCheck()
        self._temps = (TemperatureCheck(self.ocr.plausibility), TemperatureCheck(self.ocr.plausibility))
        self._trend = TrendCheck()
        self.counts = ReadCounts()

    @property
    def layout(self) -> LineLayout | None:
        return self._layouts.layout

    @property
    def layout_detections(self) -> int:
        """How often the line boxes were found in this run: once, plus each bounded re-detection."""
        return self._layouts.detections

    def read(self, image: np.ndarray, *, index: int, name: str) -> OverlayReading:
        """Read one frame; `index` is its 0-based position in the run, `name` its file name."""
        self.counts.frames += 1
        name_time = time_from_name(name)
        expected = self._time.expected(index, name_time)
        before = self._layouts.layout
        try:
            crops, reads = self._layouts.look(image, self._first_reads, expected)
        except LayoutError as exc:
            return _unreadable(f"overlay not found: {exc}")
        if before is not None and self._layouts.layout is not before:
            self._widths.restart()
            self._trust.withdraw()
        time_s = float(next(t for t in (expected, index) if t is not None))
        if expected is None:  # the first frame of a run without times in its file names
            first_time = self._time.evaluate(parse_time(reads[0].text).candidates, index, None).value
            time_s = float(first_time if first_time is not None else index)
        fields = [
            _Field(0, crops[0], lambda p: self._time.evaluate(p.candidates, index, name_time), []),
            *(
                _Field(i, crops[i], lambda p, c=check: c.evaluate(p.candidates, time_s), [])  # type: ignore[misc]
                for i, check in zip((1, 2), self._temps, strict=True)
            ),
        ]
        for f, read in zip(fields, reads, strict=True):
            f.looks.append(self._look(f, self.recognizer, read, "first"))
        self._settle(fields, time_s, has_expected_time=expected is not None)
        return self._commit(fields, index, time_s)

    def _first_reads(self, crops: list[np.ndarray]) -> list[TextRead]:
        return self.recognizer.recognize([widen(trim_to_ink(c), self._widths.width) for c in crops])

    def _look(self, f: _Field, engine: Recognizer, read: TextRead, how: str) -> Look:
        parsed = _PARSERS[f.line](read.text)
        if f.line and parsed.label not in (None, f.line):
            # The 2# box showing '1#...' (or the reverse): the boxes slid; its number is the other one's.
            parsed = Parsed((), f"the {f.line}# line box shows {parsed.label}#: {read.text!r}", parsed.label)
        name = getattr(engine, "name", "engine")
        return Look(f"{name} {how}", read, parsed, f.judge(parsed), engine=name)

    def _sure(self, look: Look) -> bool:
        return self._unsure(look) is None

    def _unsure(self, look: Look) -> str | None:
        """Why a read is not sure enough to stand alone, or None."""
        if look.read.confidence < self.ocr.min_confidence:
            return f"low confidence {look.read.confidence:.2f}"
        weakest = look.read.digit_confidence(look.number)  # the least certain digit of its number
        if weakest < MIN_CHAR_CONFIDENCE:
            return f"an uncertain digit ({weakest:.2f})"
        return None

    def _trend_of(self, look: Look, time_s: float) -> TrendVerdict | None:
        value = look.verdict.value
        return None if value is None else self._trend.evaluate(value, time_s)

    def _settle(self, fields: list[_Field], time_s: float, *, has_expected_time: bool) -> None:
        """Accept sure first reads; read the rest again, with the other engine and then binarised."""
        rules = {f.line: self._rules(f.line, time_s, has_expected_time=has_expected_time) for f in fields}

        def settle(f: _Field) -> Decision:
            trusted, vouched = rules[f.line]
            doubt = self._doubt(f, time_s)
            return decide(
                f.looks, trusted=trusted, doubt=doubt, min_digit=MIN_CHAR_CONFIDENCE, vouched=vouched
            )

        def alone(f: _Field, look: Look) -> bool:
            # A sure, plausible read of 2# stands alone too; only when looks disagree is 2# not trusted
            # on one of them.
            sure = self._sure(look) if f.line == 2 else rules[f.line][0](look)
            return look.verdict.value is not None and sure

        def hesitant(f: _Field) -> bool:  # the first read's only doubt is a pair of digits (trust.py)
            first, limits = f.looks[0], (MIN_CHAR_CONFIDENCE, self.ocr.min_confidence)
            pair = pair_hesitant(first, min_digit=limits[0], min_confidence=limits[1])
            return pair and (f.line == 2 or (f.line == 1 and not _off(self._trend_of(first, time_s))))

        pending, learn = [], {f.line for f in fields if hesitant(f)}
        for f in fields:
            if alone(f, f.looks[0]) or (f.line in learn and self._trust.excuses(f.line)):
                f.decision = Decision(f.looks[0], f.looks[0].verdict.value)
                learn.discard(f.line)
            else:
                pending.append(f)
        pending = self._other_width(pending, alone)
        passes = [(self.second, trim_to_ink, "second engine"), (self.recognizer, binarise, "binarised")]
        for engine, prepare, how in passes:
            if not pending or engine is None:
                continue
            reads = engine.recognize([prepare(f.crop) for f in pending])
            if engine is self.second:
                self.counts.second_engine += len(pending)
            else:
                self.counts.binarised += len(pending)
            for f, read in zip(pending, reads, strict=True):
                f.looks.append(self._look(f, engine, read, how))
                f.decision = settle(f)
            pending = [f for f in pending if f.decision is None or not f.decision.settled]
        for f in fields:
            if f.decision is None:
                f.decision = settle(f)
            if f.line in learn:
                self._trust.learn(f.line, f.looks[0], f.decision, f.looks)
            if f.line == 1 and f.decision.value is not None and f.decision.warning is None:
                trend = self._trend.evaluate(f.decision.value, time_s)
                if trend.off:
                    warning = f"{trend.describe(f.decision.value)}; read alike twice"
                    f.decision = Decision(f.decision.look, f.decision.value, warning=warning)
        self.counts.trusted = self._trust.accepted

    def _other_width(self, pending: list[_Field], alone: Callable[[_Field, Look], bool]) -> list[_Field]:
        """Read the doubtful fields at the run's other width; settle those sure there, learn from it."""
        other = self._widths.other
        # A sure read of a number that failed only the rate or trend check is a 2# spike or a 1# turn as
        # the display shows it (or a sure misread): read at another width it is the same, so only the
        # other model can settle it.
        left = [f for f in pending if f.looks[0].number is not None and self._sure(f.looks[0])]
        doubtful = [f for f in pending if all(f is not g for g in left)]
        if not doubtful or other is None:
            return pending
        reads = self.recognizer.recognize([widen(trim_to_ink(f.crop), other) for f in doubtful])
        self.counts.widened += len(doubtful)
        for f, read in zip(doubtful, reads, strict=True):
            look = self._look(f, self.recognizer, read, f"x{other:g} wide")
            f.looks.append(look)
            sure = alone(f, look)
            self._widths.record(other_sure=sure)
            if sure:
                f.decision = Decision(look, look.verdict.value)
            else:
                left.append(f)
        self.counts.width_switches = self._widths.switches
        return left

    def _rules(
        self, line: int, time_s: float, *, has_expected_time: bool
    ) -> tuple[Callable[[Look], bool], Callable[[Look], bool] | None]:
        """(trusted, vouched) for one line: when one look may stand alone against disagreeing ones, and
        when the field's history vouches for a number two hesitant looks agree on."""
        if line == 0:
            # A time equal to the one the file name (or the frame count) says cannot be a misread.
            return (lambda look: has_expected_time or self._sure(look)), None
        if line == 1:

            def on_trend(look: Look) -> bool:
                trend = self._trend_of(look, time_s)
                return trend is not None and trend.expected is not None and not trend.off

            return (lambda look: self._sure(look) and not _off(self._trend_of(look, time_s))), on_trend
        return (lambda look: False), None  # 2# jumps for real: only two agreeing reads settle it

    def _doubt(self, f: _Field, time_s: float) -> str | None:
        """Why the field's first read was not accepted alone (when it parsed and was plausible)."""
        first = f.looks[0]
        trend = self._trend_of(first, time_s) if f.line == 1 else None
        if trend is not None and trend.off and first.verdict.value is not None:
            return trend.describe(first.verdict.value)
        return self._unsure(first)

    def _commit(self, fields: list[_Field], index: int, time_s: float) -> OverlayReading:
        out = []
        for f in fields:
            d = f.decision
            assert d is not None
            verdict = Verdict(d.value, d.error, suspect=d.look.verdict.suspect)
            if f.line == 0:
                self._time.commit(verdict, index)
            else:
                self._temps[f.line - 1].commit(verdict, d.look.parsed.candidates, time_s)
                if f.line == 1 and d.value is not None:
                    self._trend.commit(d.value, time_s)
            first = f.looks[0]
            out.append(
                FieldRead(
                    raw=d.look.read.text,
                    value=d.value,
                    confidence=d.look.read.confidence,
                    error=d.error,
                    reread=d.look is not first,
                    warning=d.warning,
                )
            )
        return OverlayReading(time=out[0], t1=out[1], t2=out[2])


def _off(trend: TrendVerdict | None) -> bool:
    return trend is not None and trend.off


def _unreadable(reason: str) -> OverlayReading:
    blank = FieldRead(raw="", value=None, confidence=0.0, error=reason)
    return OverlayReading(time=blank, t1=blank, t2=blank)
