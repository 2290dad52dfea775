"""1#'s trend check alone, and in the reader: a one-digit misread on a smooth ramp is caught, a true fast
change is kept."""

from dataclasses import dataclass

import cv2
import numpy as np
import pytest

from monitor.config import parse_config
from monitor.overlay.engines import TextRead
from monitor.overlay.reader import OverlayReader
from monitor.overlay.trend import MIN_POINTS, TOLERANCE_C, TrendCheck

RAMP = [(float(t), 1200 + 6 * t) for t in range(8)]  # heating at 6 degC/s


@pytest.fixture
def ramp() -> TrendCheck:
    check = TrendCheck()
    for t, v in RAMP:
        check.commit(v, t)
    return check


def test_no_trend_before_enough_readings() -> None:
    check = TrendCheck()
    for t, v in RAMP[: MIN_POINTS - 1]:
        check.commit(v, t)
    assert not check.evaluate(9999, 3.0).off


def test_the_next_reading_of_the_ramp_is_on_trend(ramp: TrendCheck) -> None:
    verdict = ramp.evaluate(1248, 8.0)
    assert not verdict.off and verdict.expected == pytest.approx(1248)


@pytest.mark.parametrize("misread", [1238, 1258, 1243, 1288])  # tens digit, units digit off by 5, ...
def test_a_one_digit_misread_is_off_trend(ramp: TrendCheck, misread: int) -> None:
    verdict = ramp.evaluate(misread, 8.0)
    assert verdict.off
    assert "off 1#'s trend" in verdict.describe(misread)


def test_the_display_jitter_is_within_tolerance(ramp: TrendCheck) -> None:
    assert not ramp.evaluate(1248 + int(TOLERANCE_C) - 1, 8.0).off


def test_old_readings_are_forgotten() -> None:
    check = TrendCheck()
    for t, v in RAMP:
        check.commit(v, t)
    assert not check.evaluate(1500, 60.0).off  # a minute later there is no trend to compare with


# --- in the reader, with scripted engines -----------------------------------------------------------


@dataclass
class Scripted:
    """Reads each crop as the script says for this frame; `name` as a real engine has."""

    name: str
    texts: dict[int, list[TextRead]]  # frame index -> reads
    frame: int = 0
    calls: int = 0

    def recognize(self, crops: list[np.ndarray]) -> list[TextRead]:
        self.calls += 1
        reads = self.texts[self.frame]
        # A re-read of fewer crops is of 1# (the only doubtful line in these scripts).
        return reads[1 : 1 + len(crops)] if len(crops) < len(reads) else reads


def ramp_reads(value: int, t: int) -> list[TextRead]:
    return [TextRead(f"[{100 + t}]", 0.99), TextRead(f"1#丝{value}℃", 0.99), TextRead("2#丝1145℃", 0.99)]


def run_ramp(first: dict[int, int], second: dict[int, int]) -> list:
    """Ten frames of a 6 degC/s ramp; `first`/`second` override what each engine reads of 1# per frame."""
    truth = {t: 1200 + 6 * t for t in range(10)}
    one = Scripted("first", {t: ramp_reads(first.get(t, v), t) for t, v in truth.items()})
    two = Scripted("second", {t: [TextRead(f"1#丝{second.get(t, v)}℃", 0.99)] for t, v in truth.items()})
    lines = [{"x": 0, "y": 18 * i, "width": 101, "height": 18} for i in range(3)]
    config = parse_config({"overlay": {"lines": lines}}, env={})
    reader = OverlayReader(overlay=config.overlay, ocr=config.ocr, recognizer=one, detector=None, second=two)
    frame = cv2.merge([np.zeros((60, 120), np.uint8)] * 3)
    readings = []
    for t in truth:
        one.frame = two.frame = t
        readings.append(reader.read(frame, index=t, name=f"{100 + t:04d}.jpg"))
    return readings


def test_a_confident_one_digit_misread_on_a_ramp_is_caught() -> None:
    # Frame 7 shows 1242; the first engine reads 1252 at 0.99; the second engine reads 1242.
    readings = run_ramp(first={7: 1252}, second={})
    assert readings[7].t1.value == 1242 and readings[7].t1.reread
    assert all(r.t1.value == 1200 + 6 * t for t, r in enumerate(readings))


def test_a_misread_no_second_look_confirms_is_flagged() -> None:
    readings = run_ramp(first={7: 1252}, second={7: 1262})
    assert readings[7].t1.value is None and "off 1#'s trend" in (readings[7].t1.error or "")


def test_a_true_fast_change_read_alike_by_both_engines_is_kept() -> None:
    # The programme turns: from frame 6 on, 1# falls at 20 degC/s; both engines read it.
    turn = {t: 1236 - 20 * (t - 6) for t in range(7, 10)}
    readings = run_ramp(first=turn, second=turn)
    assert [r.t1.value for r in readings[7:]] == list(turn.values())
    assert readings[7].t1.warning and "off 1#'s trend" in readings[7].t1.warning
