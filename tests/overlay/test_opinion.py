"""The second opinion: the agreement rule on crafted looks, and both real engines on crafted line crops."""

import numpy as np
import pytest
from PIL import Image, ImageDraw, ImageFont

from monitor.evaluation.ocr_variants import FALLBACK_FONT
from monitor.overlay.engines import TextRead
from monitor.overlay.grammar import parse_temperature
from monitor.overlay.ink import trim_to_ink
from monitor.overlay.opinion import Look, decide
from monitor.overlay.plausibility import TemperatureCheck
from monitor.overlay.reader import MIN_CHAR_CONFIDENCE, OverlayReader

SERIF_CJK = "/usr/share/fonts/opentype/noto/NotoSerifCJK-Regular.ttc"


def look(text: str, confidence: float = 0.99, *, source: str = "a", anchor: int | None = None) -> Look:
    """A look by engine `source`, judged against a 2# that last read `anchor` one second ago."""
    check = TemperatureCheck(_config())
    if anchor is not None:
        check.check((anchor,), 0.0)
    parsed = parse_temperature(text)
    return Look(
        source, TextRead(text, confidence), parsed, check.evaluate(parsed.candidates, 1.0), engine=source
    )


def _config():
    from monitor.config.overlay import PlausibilityConfig

    return PlausibilityConfig()


def never(_: Look) -> bool:
    return False


def test_two_looks_that_agree_settle_the_value() -> None:
    decision = decide([look("2#丝1443℃", 0.7), look("2#丝1443°C", 0.8, source="b")], trusted=never)
    assert decision.value == 1443 and decision.warning is None and decision.error is None


def test_two_looks_that_disagree_are_flagged_with_both_reads() -> None:
    decision = decide([look("2#丝1443℃"), look("2#丝1442℃", source="b")], trusted=never, doubt="uncertain")
    assert decision.value is None
    assert decision.error == "uncertain; other reads: b '2#丝1442℃' (0.99)"


def test_the_third_look_breaks_a_tie() -> None:
    looks = [look("2#丝1443℃"), look("2#丝1448℃", source="b"), look("2#丝1448℃", source="c")]
    assert decide(looks, trusted=never).value == 1448


def test_one_model_agreeing_with_itself_is_no_confirmation_when_another_model_disagrees() -> None:
    looks = [look("2#丝1443℃"), look("2#丝1442℃", source="b"), look("2#丝1443℃")]
    assert decide(looks, trusted=never).value is None


def test_a_trusted_look_stands_alone_when_the_others_disagree() -> None:
    looks = [look("1#丝1264℃", 0.95), look("1#丝1254℃", 0.5, source="b")]
    decision = decide(looks, trusted=lambda x: x.read.confidence > 0.9)
    assert decision.value == 1264 and decision.look is looks[0]


def test_a_jump_read_alike_by_two_looks_is_kept_with_a_warning() -> None:
    looks = [look("2#丝1415℃", anchor=1143), look("2#丝1415℃", source="b", anchor=1143)]
    decision = decide(looks, trusted=never)
    assert decision.value == 1415
    assert decision.warning == "jump 1143 -> 1415 in 1 s (confirmed by a second read)"


def test_a_jump_read_once_is_flagged() -> None:
    looks = [look("2#丝1415℃", anchor=1143), look("2#丝1145℃", source="b", anchor=1143)]
    decision = decide(looks, trusted=lambda x: True)  # the plausible 1145 is not trusted: it was 1 look
    assert decision.value == 1145  # trusted alone, because the caller says so ...
    assert decide(looks, trusted=never).value is None  # ... and flagged when it does not


def scored(text: str, digits: tuple[float, ...], *, source: str, anchor: int | None = None) -> Look:
    """A look whose number's digits have these probabilities (every other glyph 0.99)."""
    plain = look(text, 0.9, source=source, anchor=anchor)
    number = str(plain.number)
    start = text.rfind(number)
    chars = [0.99] * len(text)
    chars[start : start + len(number)] = digits
    read = TextRead(text, 0.9, tuple(chars))
    return Look(source, read, plain.parsed, plain.verdict, engine=source)


def test_two_models_unsure_of_different_digits_settle_the_value() -> None:
    # per-frame 0270.jpg: PP-OCRv6_tiny unsure of the second 4 (0.62), PP-OCRv5_mobile of the first 1 (0.56).
    looks = [
        scored("2#丝:1144℃", (1.0, 1.0, 0.62, 1.0), source="a"),
        scored("2#丝：1144℃", (0.56, 1.0, 1.0, 1.0), source="b"),
    ]
    assert decide(looks, trusted=never, min_digit=MIN_CHAR_CONFIDENCE).value == 1144


def test_two_models_unsure_of_the_same_digit_settle_nothing() -> None:
    # The smudged 3 read as 2 by both models at 0.55 and 0.6: both may misread it the same way.
    looks = [
        scored("2#丝1442℃", (1.0, 1.0, 1.0, 0.55), source="a"),
        scored("2#丝1442℃", (1.0, 1.0, 1.0, 0.6), source="b"),
    ]
    assert decide(looks, trusted=never, min_digit=MIN_CHAR_CONFIDENCE).value is None


def test_one_model_unsure_of_different_digits_twice_settles_nothing() -> None:
    # The first read and its binarised re-read are one model: its errors are not independent.
    looks = [
        scored("2#丝1144℃", (1.0, 1.0, 0.62, 1.0), source="a"),
        scored("2#丝1144℃", (0.56, 1.0, 1.0, 1.0), source="a"),
    ]
    assert decide(looks, trusted=never, min_digit=MIN_CHAR_CONFIDENCE).value is None


def test_a_spike_two_models_read_alike_at_0_8_is_kept_with_a_warning() -> None:
    # per-frame 0524.jpg: 2# at 1283 after 1415, both models at 0.81-0.87 on two digits.
    looks = [
        scored("2#21283 C", (0.99, 1.0, 0.81, 0.82), source="a", anchor=1415),
        scored("2#21283℃", (0.99, 0.99, 0.87, 0.84), source="b", anchor=1415),
    ]
    decision = decide(looks, trusted=never, min_digit=MIN_CHAR_CONFIDENCE)
    assert decision.value == 1283 and decision.warning is not None


def test_a_true_spike_both_models_hesitate_on_is_kept_with_a_warning() -> None:
    # held-out-2:per-frame 0474.jpg: 1146 -> 1470, the 7 at 0.68 and 0.83 (joint doubt 0.054).
    looks = [
        scored("2#丝：1470C", (1.0, 1.0, 0.68, 0.99), source="a", anchor=1146),
        scored("2#丝:1470C", (1.0, 1.0, 0.83, 1.0), source="b", anchor=1146),
    ]
    decision = decide(looks, trusted=never, min_digit=MIN_CHAR_CONFIDENCE)
    assert decision.value == 1470 and decision.warning is not None


def test_the_same_doubts_on_a_plausible_number_settle_nothing() -> None:
    # Negative: without the jump the value would stand without a flag, so the strict limit holds.
    looks = [
        scored("2#丝：1147C", (1.0, 1.0, 0.68, 0.99), source="a", anchor=1146),
        scored("2#丝:1147C", (1.0, 1.0, 0.83, 1.0), source="b", anchor=1146),
    ]
    assert decide(looks, trusted=never, min_digit=MIN_CHAR_CONFIDENCE).value is None
    # ... and a spike both are as unsure of as the smudged 3 (0.18) is still blank.
    looks = [
        scored("2#丝：1470C", (1.0, 1.0, 0.55, 0.99), source="a", anchor=1146),
        scored("2#丝:1470C", (1.0, 1.0, 0.6, 1.0), source="b", anchor=1146),
    ]
    assert decide(looks, trusted=never, min_digit=MIN_CHAR_CONFIDENCE).value is None


# A digit lost in a pair ('148' for 1148): held-out-2:per-frame 0435.jpg, both widths of PP-OCRv6_tiny read
# '2#丝：148°℃' (its 1 at 0.86), PP-OCRv5_mobile '2#丝：1148C'.
def test_a_read_that_lost_one_of_two_equal_digits_is_the_other_models_number() -> None:
    looks = [
        scored("2#丝：148°℃", (0.86, 1.0, 1.0), source="a", anchor=1145),
        scored("2#丝：1148C", (0.96, 0.86, 0.51, 0.98), source="b", anchor=1145),
    ]
    decision = decide(looks, trusted=never, min_digit=MIN_CHAR_CONFIDENCE)
    assert decision.value == 1148 and decision.look is looks[1] and decision.warning is None


@pytest.mark.parametrize(
    ("short", "digits", "why"),
    [
        ("2#丝：148°℃", (1.0, 1.0, 1.0), "sure of its single 1: no sign of a lost one"),
        ("2#丝：148°℃", (0.6, 1.0, 0.6), "both models unsure of the 8"),
        ("2#丝：118°℃", (0.7, 0.7, 1.0), "not a pair lost: the 4 is missing"),
    ],
)
def test_what_the_lost_digit_rule_refuses(short: str, digits: tuple[float, ...], why: str) -> None:
    looks = [
        scored(short, digits, source="a", anchor=1145),
        scored("2#丝：1148C", (0.96, 0.86, 0.51, 0.6), source="b", anchor=1145),
    ]
    assert decide(looks, trusted=never, min_digit=MIN_CHAR_CONFIDENCE).value is None, why


def test_one_model_losing_a_digit_of_its_own_read_is_no_confirmation() -> None:
    looks = [
        scored("2#丝：148°℃", (0.86, 1.0, 1.0), source="a", anchor=1145),
        scored("2#丝：1148C", (0.96, 0.86, 0.51, 0.98), source="a", anchor=1145),
    ]
    assert decide(looks, trusted=never, min_digit=MIN_CHAR_CONFIDENCE).value is None


def test_a_spike_is_never_completed_from_a_lost_digit() -> None:
    # 1488 after 1145 fails the rate check: a lost-digit match never confirms a jump.
    looks = [
        scored("2#丝：148°℃", (0.86, 1.0, 1.0), source="a", anchor=1145),
        scored("2#丝：1488C", (0.96, 0.99, 0.99, 0.98), source="b", anchor=1145),
    ]
    assert decide(looks, trusted=never, min_digit=MIN_CHAR_CONFIDENCE).value is None


# --- both real engines on crafted crops -------------------------------------------------------------


def render_line(text: str, *, font_path: str = SERIF_CJK, size: int = 18) -> np.ndarray:
    """White text on black, the way a recorder would draw it; glyphs the font lacks from the CJK fallback."""
    font = ImageFont.truetype(font_path, size, index=2 if font_path.endswith(".ttc") else 0)
    fallback = ImageFont.truetype(str(FALLBACK_FONT), size)
    image = Image.new("RGB", (150, size + 6), (0, 0, 0))
    draw, x = ImageDraw.Draw(image), 3.0
    for ch in text:
        face = font if font.getmask(ch).getbbox() is not None else fallback
        draw.text((x, 2), ch, font=face, fill=(255, 255, 255))
        x += face.getlength(ch)
    return np.ascontiguousarray(np.asarray(image)[:, :, ::-1])


def engine_looks(reader: OverlayReader, crop: np.ndarray) -> list[Look]:
    assert reader.second is not None, "the default reader has a second engine"
    looks = []
    for engine in (reader.recognizer, reader.second):
        (read,) = engine.recognize([trim_to_ink(crop)])
        parsed = parse_temperature(read.text)
        check = TemperatureCheck(_config())
        looks.append(
            Look(engine.name, read, parsed, check.evaluate(parsed.candidates, 0.0), engine=engine.name)
        )
    return looks


def test_the_two_engines_are_different_models(onnx_reader: OverlayReader) -> None:
    assert onnx_reader.recognizer.name == "PP-OCRv6_tiny_rec"
    assert onnx_reader.second is not None and onnx_reader.second.name == "PP-OCRv5_mobile_rec"


@pytest.mark.parametrize("text", ["2#丝：1443℃", "1#丝1189°C"])
def test_engines_agree_on_a_clean_serif_line(onnx_reader: OverlayReader, text: str) -> None:
    looks = engine_looks(onnx_reader, render_line(text))
    want = int("".join(ch for ch in text[3:] if ch.isdigit()))
    assert [x.number for x in looks] == [want, want]
    assert all(x.read.char_confidences for x in looks), "both engines give per-character confidences"
    assert decide(looks, trusted=never).value == want


def test_a_smudged_digit_makes_an_engine_unsure_and_is_never_a_silent_wrong_value(
    onnx_reader: OverlayReader,
) -> None:
    crop = render_line("2#丝1443℃")
    # Wipe the bottom of the last digit: both models then read a 2, each hesitating on it.
    font = ImageFont.truetype(SERIF_CJK, 18, index=2)
    x0 = 3 + int(font.getlength("2#丝144"))
    crop[16:, x0 : x0 + int(font.getlength("3"))] = 0
    looks = engine_looks(onnx_reader, crop)
    assert all(x.read.weakest < MIN_CHAR_CONFIDENCE for x in looks)
    assert decide(looks, trusted=never).value == 1442  # two unsure reads "agree" on the wrong digit ...
    decision = decide(looks, trusted=never, min_digit=MIN_CHAR_CONFIDENCE)
    assert decision.value is None  # ... which settles nothing when they both hesitate


def test_engines_that_read_different_numbers_flag_2(onnx_reader: OverlayReader) -> None:
    first = engine_looks(onnx_reader, render_line("2#丝1443℃"))[0]
    second = engine_looks(onnx_reader, render_line("2#丝1442℃"))[1]
    decision = decide([first, second], trusted=never)
    assert decision.value is None and "other reads" in (decision.error or "")


@pytest.mark.parametrize(
    ("text", "scores", "number", "weakest"),
    [
        ("2#丝1443℃", (0.99, 0.7, 0.99, 0.98, 0.97, 0.96, 0.95, 0.6), 1443, 0.95),  # '#', '℃' do not count
        ("2#21283℃", (0.99, 0.9, 0.4, 0.99, 0.98, 0.97, 0.96, 0.9), 1283, 0.96),  # 丝 read as '2'
        ("1#丝9518", (0.99, 0.9, 0.4, 0.99, 0.98, 0.97, 0.5), 951, 0.97),  # ℃ read as '8'
        ("2#21283℃", (0.99, 0.9, 0.4, 0.99, 0.98, 0.97, 0.96, 0.9), None, 0.4),  # no number: the whole run
    ],
)
def test_digit_confidence_is_the_numbers_own(
    text: str, scores: tuple, number: int | None, weakest: float
) -> None:
    assert TextRead(text, 0.9, scores).digit_confidence(number) == weakest
