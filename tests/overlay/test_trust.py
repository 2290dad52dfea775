"""The run's trust in a pair-hesitant first read: what counts as one, how it is earned, audited, withdrawn."""

import pytest

from monitor.overlay.engines import TextRead
from monitor.overlay.grammar import parse_temperature
from monitor.overlay.opinion import Decision, Look
from monitor.overlay.plausibility import Verdict
from monitor.overlay.trust import AUDIT_EVERY, TRUST_AFTER, PairTrust, pair_hesitant


def look(text: str, digits: tuple[float, ...], *, engine: str = "tiny", confidence: float = 0.87) -> Look:
    """A plausible look at `text` whose number's digits have these probabilities (other glyphs 0.99)."""
    parsed = parse_temperature(text)
    number = str(parsed.candidates[0])
    chars = [0.99] * len(text)
    start = text.find(number)
    chars[start : start + len(number)] = digits
    read = TextRead(text, confidence, tuple(chars))
    return Look(engine, read, parsed, Verdict(int(number)), engine=engine)


def hesitant(x: Look) -> bool:
    return pair_hesitant(x, min_digit=0.9, min_confidence=0.8)


def test_a_doubt_on_one_of_a_leading_pair_is_pair_hesitant() -> None:
    # FreeMono Bold (held-out): the first 1 of 1143 at 0.58, the rest sure.
    assert hesitant(look("2#丝：1143℃", (0.58, 1.0, 1.0, 1.0)))
    assert hesitant(look("2#丝：1143℃", (0.92, 0.59, 1.0, 1.0)))  # the second 1


@pytest.mark.parametrize(
    ("text", "digits", "why"),
    [
        (
            "2#丝：1149℃",
            (1.0, 1.0, 0.53, 1.0),
            "the tens digit is no pair: a misread there may look plausible",
        ),
        ("2#丝：1147℃", (0.54, 1.0, 0.7, 1.0), "a pair's doubt and another digit's"),
        ("1#丝：1433℃", (1.0, 1.0, 0.6, 1.0), "a pair in the tens and units: a misread moves it by < 100"),
        ("2#丝：1243℃", (0.6, 1.0, 1.0, 1.0), "the doubtful 1 has no equal neighbour"),
        ("2#丝：1143℃", (0.3, 1.0, 1.0, 1.0), "more doubt than a pair's (below the floor)"),
        ("2#丝：1143℃", (1.0, 1.0, 1.0, 1.0), "no doubt at all: nothing to excuse"),
    ],
)
def test_what_is_not_pair_hesitant(text: str, digits: tuple[float, ...], why: str) -> None:
    assert not hesitant(look(text, digits)), why


def test_a_low_line_confidence_or_an_implausible_read_is_not_pair_hesitant() -> None:
    assert not hesitant(look("2#丝：1143℃", (0.58, 1.0, 1.0, 1.0), confidence=0.6))
    jump = look("2#丝：1143℃", (0.58, 1.0, 1.0, 1.0))
    assert not hesitant(
        Look("tiny", jump.read, jump.parsed, Verdict(None, "jump", suspect=1143), engine="tiny")
    )


def confirm(trust: PairTrust, first: Look, value: int | None = None) -> None:
    """The second model read `value` (the first read's number unless said)."""
    number = first.verdict.value if value is None else value
    other = look(f"2#丝：{number}℃", (1.0, 1.0, 1.0, 1.0), engine="mobile")
    trust.learn(2, first, Decision(other, number), [first, other])


def test_trust_is_earned_by_confirmations_in_a_row_and_audited() -> None:
    trust, first = PairTrust(), look("2#丝：1143℃", (0.58, 1.0, 1.0, 1.0))
    for _ in range(TRUST_AFTER - 1):
        confirm(trust, first)
    assert not trust.excuses(2)
    confirm(trust, first)
    excused = [trust.excuses(2) for _ in range(2 * AUDIT_EVERY)]
    assert excused.count(False) == 2 and not excused[AUDIT_EVERY - 1]  # every 10th is re-read
    assert trust.accepted == 2 * AUDIT_EVERY - 2
    assert not trust.excuses(1)  # per line: 1# has earned nothing


def test_a_hesitant_read_that_was_another_value_withdraws_the_trust() -> None:
    trust, first = PairTrust(), look("2#丝：1143℃", (0.58, 1.0, 1.0, 1.0))
    for _ in range(TRUST_AFTER):
        confirm(trust, first)
    confirm(trust, first, value=1173)  # the second model read another number: the doubt was real
    assert not trust.excuses(2)


def test_the_same_model_agreeing_earns_nothing_and_a_moved_overlay_withdraws() -> None:
    trust, first = PairTrust(), look("2#丝：1143℃", (0.58, 1.0, 1.0, 1.0))
    for _ in range(TRUST_AFTER):
        trust.learn(2, first, Decision(first, 1143), [first, first])  # e.g. its own wider read
    assert not trust.excuses(2)
    for _ in range(TRUST_AFTER):
        confirm(trust, first)
    trust.withdraw()
    assert not trust.excuses(2)


# --- in the reader ------------------------------------------------------------------------------------


class Hesitant:
    """The first model: 2# read right but its first 1 at 0.58 at any width, as FreeMono Bold's '11'."""

    name = "first"

    def __init__(self) -> None:
        self.frame = 0

    def recognize(self, crops: list) -> list[TextRead]:
        two = TextRead("2#丝1143℃", 0.9, (1.0, 1.0, 1.0, 0.58, 1.0, 1.0, 1.0, 1.0))
        if len(crops) < 3:
            return [two] * len(crops)
        self.frame += 1
        return [TextRead(f"[{99 + self.frame}]", 0.99), TextRead("1#丝950℃", 0.99), two]


class Second:
    name = "second"

    def __init__(self) -> None:
        self.calls = 0

    def recognize(self, crops: list) -> list[TextRead]:
        self.calls += 1
        return [TextRead("2#丝1143℃", 0.99)] * len(crops)


def test_the_reader_stops_asking_the_second_model_once_the_run_has_earned_trust() -> None:
    import cv2
    import numpy as np

    from monitor.config import parse_config
    from monitor.overlay.reader import OverlayReader

    first, second = Hesitant(), Second()
    lines = [{"x": 0, "y": 18 * i, "width": 101, "height": 18} for i in range(3)]
    config = parse_config({"overlay": {"lines": lines}}, env={})
    reader = OverlayReader(
        overlay=config.overlay, ocr=config.ocr, recognizer=first, detector=None, second=second
    )
    frame = cv2.merge([np.zeros((60, 120), np.uint8)] * 3)
    frames = TRUST_AFTER + 2 * AUDIT_EVERY
    readings = [reader.read(frame, index=i, name=f"{100 + i:04d}.jpg") for i in range(frames)]
    assert all(r.t2.value == 1143 and r.t2.error is None for r in readings)
    assert second.calls == TRUST_AFTER + 2  # to earn the trust, then the two audits
    assert reader.counts.trusted == 2 * AUDIT_EVERY - 2
