"""Overlay grammar: recognised text -> candidate numbers, including the misreads of a real run's OCR table."""

import csv
from pathlib import Path

import pytest

from monitor.overlay.grammar import Parsed, parse_temperature, parse_time

SHARED_DATA = Path(__file__).resolve().parents[3] / "shared" / "data" / "apmcm2022a"
OCR_TABLE = SHARED_DATA / "ocr_temperatures.csv"


# --- time line -------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "first"),
    [
        ("[548]", 548),
        ("[110]", 110),
        ("(110)", 110),
        ("【671】", 671),
        ("[ 548 ]", 548),  # spaces inside carry no meaning
        ("[5 4 8]", 548),
        ("[1lO]", 110),  # l -> 1, O -> 0
        ("[l1O]", 110),
        ("[2OO]", 200),
        ("[６７１]", 671),  # full-width digits
    ],
)
def test_time_with_both_marks_gives_the_number_only(text: str, first: int) -> None:
    assert parse_time(text) == Parsed((first,))


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("1548]", (1548, 548)),  # leading mark read as '1'
        ("[5481", (5481, 548)),  # trailing mark read as '1'
        ("15481", (15481, 5481, 1548, 548)),  # both marks read as digits
    ],
)
def test_time_mark_read_as_a_digit_keeps_both_readings(text: str, expected: tuple[int, ...]) -> None:
    parsed = parse_time(text)
    assert parsed.error is None
    assert parsed.candidates == expected
    assert 548 in parsed.candidates


def test_time_candidates_are_unique() -> None:
    parsed = parse_time("1111")
    assert len(parsed.candidates) == len(set(parsed.candidates))
    assert parsed.candidates[0] == 1111


@pytest.mark.parametrize(
    ("text", "error"),
    [
        ("", "empty"),
        ("   ", "empty"),
        ("\t\n", "empty"),
        ("[]", "no integer in '[]'"),
        ("[abc]", "no integer in '[abc]'"),
        ("]", "no integer in ']'"),
        ("[5x8]", "no integer in '[5x8]'"),
    ],
)
def test_time_without_a_number_is_an_error_without_candidates(text: str, error: str) -> None:
    assert parse_time(text) == Parsed((), error)


# --- temperature line ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "text",
    [
        "1#丝951℃",  # as drawn
        "1#丝951°C",  # unit read as '°C'
        "1#丝951C",  # unit read as 'C'
        "1#丝951G",  # unit read as 'G'
        "1#丝951°",  # only the degree sign
        "1#丝951",  # unit lost
        "1#经951℃",  # wire glyph read as another glyph
        "1#纟951℃",
        "1#丝95l℃",  # l -> 1
        "1#丝95I℃",  # I -> 1
        "1 # 丝 9 5 1 ℃",  # spaces inside
        "1#丝 951 ° C",
        "l#丝951℃",  # label digit read as 'l'
        "1＃丝951℃",  # full-width '#'
        "951",  # bare number
    ],
)
def test_temperature_951_read_many_ways(text: str) -> None:
    assert parse_temperature(text) == Parsed((951,))


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("1#丝9518", (951, 9518)),  # real misread: '℃' read as '8' (NO 13, 122 s)
        ("1#丝8818", (881, 8818)),  # real misread (NO 529, 638 s)
        ("1#丝8218", (821, 8218)),  # real misread (NO 557, 666 s)
        ("1#经9518", (951, 9518)),  # and the wire glyph misread too
        ("1 # 丝 9 5 1 8", (951, 9518)),
    ],
)
def test_unit_read_as_8_gives_the_number_first_and_the_raw_reading_second(
    text: str, expected: tuple[int, ...]
) -> None:
    assert parse_temperature(text) == Parsed(expected)


def test_number_ending_in_8_with_a_unit_keeps_the_8() -> None:
    parsed = parse_temperature("1#丝978℃")
    assert parsed.candidates[0] == 978


def test_number_not_ending_in_8_without_unit_is_read_as_is_first() -> None:
    assert parse_temperature("1#丝9180").candidates[0] == 9180


@pytest.mark.parametrize(
    ("text", "first"),
    [
        ("1#丝1O03℃", 1003),  # O -> 0
        ("1#丝1o03℃", 1003),  # o -> 0
        ("1#丝9O5℃", 905),
        ("1#丝15OO℃", 1500),
        ("2#丝1l45℃", 1145),
        ("2#丝1145℃", 1145),
        ("1#丝812℃", 812),
    ],
)
def test_letters_confused_with_digits_are_read_as_digits(text: str, first: int) -> None:
    parsed = parse_temperature(text)
    assert parsed.error is None
    assert parsed.candidates[0] == first


def test_wire_glyph_read_as_digits_leaves_the_number_among_the_candidates() -> None:
    parsed = parse_temperature("1#44951℃")
    assert parsed.error is None
    assert 951 in parsed.candidates
    assert all(3 <= len(str(c)) <= 4 for c in parsed.candidates)


@pytest.mark.parametrize(
    ("text", "error"),
    [
        ("", "empty"),
        ("   ", "empty"),
        ("abc", "no temperature in 'abc'"),
        ("1#丝", "no temperature in '1#丝'"),
        ("1#丝℃", "no temperature in '1#丝℃'"),
        ("2#经°C", "no temperature in '2#经°C'"),
    ],
)
def test_temperature_without_a_number_is_an_error_without_candidates(text: str, error: str) -> None:
    assert parse_temperature(text) == Parsed((), error)


def test_temperature_candidates_are_unique_and_at_most_four_digits() -> None:
    parsed = parse_temperature("1#丝95188")
    assert parsed.error is None
    assert len(parsed.candidates) == len(set(parsed.candidates))
    assert all(c < 10_000 for c in parsed.candidates)
    assert parsed.candidates[0] == 9518


# --- the real OCR table ---------------------------------------------------------------------------------


def _table_values() -> list[int]:
    with OCR_TABLE.open(encoding="utf-8", newline="") as f:
        cells = [row["1# Temperature"].strip() for row in csv.DictReader(f)]
    return [int(float(cell)) for cell in cells if cell]


needs_table = pytest.mark.skipif(not OCR_TABLE.is_file(), reason="shared OCR table not present")


@needs_table
def test_every_unit_read_as_8_misread_in_the_real_ocr_table_parses_to_the_number() -> None:
    # The misreads are the 4-digit values ending in 8 above any plausible temperature (1800 degC):
    # 9518, 8818 and 8218 for 951, 881 and 821.
    misreads = [v for v in _table_values() if len(str(v)) == 4 and v % 10 == 8 and v > 1800]
    assert {9518, 8818} <= set(misreads)
    for value in misreads:
        parsed = parse_temperature(f"1#丝{value}")
        assert parsed.error is None, value
        assert parsed.candidates[:2] == (value // 10, value), value


@needs_table
def test_every_value_of_the_real_ocr_table_survives_parsing() -> None:
    values = _table_values()
    assert len(values) > 500
    for value in values:
        # with its unit, the number itself comes first; without it, it is still among the candidates
        assert parse_temperature(f"1#丝{value}℃").candidates[0] == value, value
        assert value in parse_temperature(f"1#丝{value}").candidates, value


@pytest.mark.parametrize("text", ["1#丝0951℃", "1#丝O951℃"])
def test_wire_glyph_read_as_zero_is_dropped(text: str) -> None:
    assert parse_temperature(text).candidates[0] == 951


def test_a_degree_sign_before_the_unit_is_part_of_the_unit() -> None:
    assert parse_temperature("2#丝1382°℃").candidates == (1382,)


# --- confusions learned from `evaluate-ocr --variants` (other fonts, colours, brackets) -------------------


@pytest.mark.parametrize(
    ("text", "value", "label"),
    [
        ("1#并丝：955℃", 955, 1),  # '#' read as 并 (a serif CJK font), full-width colon
        ("1卄丝955℃", 955, 1),  # '#' read as 卄
        ("2什丝1144℃", 1144, 2),  # '#' read as 什
        ("2#44:1147°C", 1147, 2),  # 丝 read as '44' before a colon (Noto Serif CJK)
        ("2#4:1144°C", 1144, 2),
        ("2#始:1283℃", 1283, 2),  # 丝 read as 始 (text straight on the picture)
        ("2#丝：1142", 1142, 2),  # full-width colon, unit lost
        ("2#丝1147°C℃", 1147, 2),  # unit read twice (Noto Sans CJK at 13 px)
        ("1#丝：1500°℃", 1500, 1),
        ("2#丝：13640", 1364, 2),  # PP-OCRv5_mobile reads ℃ as '0' (Latin sans)
        ("2#丝：1218°0", 1218, 2),  # ... or as '°0'
        ("2#丝：11430C", 1143, 2),  # '°C' in FreeMono Bold: the degree sign read as '0' (held-out run)
        ("2#丝：11460℃", 1146, 2),
        ("2丝1145℃", 1145, 2),  # '#' lost (a per-frame stress style)
    ],
)
def test_confusions_seen_across_fonts_parse_to_the_number(text: str, value: int, label: int) -> None:
    parsed = parse_temperature(text)
    assert parsed.candidates[0] == value
    assert parsed.label == label


@pytest.mark.parametrize(
    ("text", "error"),
    [
        ("2#44:°C", "no temperature in '2#44:°C'"),  # a colon, but nothing after it
        ("1#并丝：℃", "no temperature in '1#并丝：℃'"),
        ("2#丝:12345℃", "no 3-4 digit temperature in '2#丝:12345℃'"),  # after the colon: the number only
        ("2#丝:11431C", "no 3-4 digit temperature in '2#丝:11431C'"),  # only a 0 can be a degree sign
    ],
)
def test_what_the_learned_confusions_still_refuse(text: str, error: str) -> None:
    assert parse_temperature(text) == Parsed((), error)


def test_wire_glyph_read_as_4_before_a_3_digit_number_leaves_both_readings() -> None:
    assert parse_temperature("1#4998℃").candidates == (4998, 998)
    assert parse_temperature("1#1500℃").candidates == (1500,)  # only a leading 4 can be the glyph
    assert parse_temperature("1#丝：4998℃").candidates == (4998,)  # after a colon, no glyph is left


def test_a_trailing_0_without_a_unit_is_kept_first() -> None:
    # 1500 with its unit lost is likelier than 150 with its unit read as '0'.
    assert parse_temperature("1#丝1500").candidates == (1500, 150)


def test_a_colon_drops_the_wire_glyph_digits_but_not_the_number() -> None:
    # Without the colon, '44' could be the start of the number; with it, it cannot.
    assert parse_temperature("2#44:1147℃").candidates == (1147,)
    assert 1147 in parse_temperature("2#441147℃").candidates


@pytest.mark.parametrize(
    ("text", "label"),
    [("2并丝1144℃", 2), ("2#丝1144℃", 2), ("2H丝1144℃", 2), ("l#丝951℃", 1), ("|#丝951℃", 1)],
)
def test_the_label_tells_which_thermocouple_the_line_shows(text: str, label: int) -> None:
    assert parse_temperature(text).label == label


@pytest.mark.parametrize("text", ["丝1144℃", "<2492", "#丝1144℃", "1145℃", "2145°C"])
def test_a_line_without_a_readable_label_has_none(text: str) -> None:
    assert parse_temperature(text).label is None


@pytest.mark.parametrize(
    ("text", "value"),
    [("(261】", 261), ("【263】", 263), ("<300>", 300), ("(300)", 300), ("「300」", 300), ("{300}", 300)],
)
def test_time_in_other_brackets(text: str, value: int) -> None:
    assert parse_time(text).candidates[0] == value


@pytest.mark.parametrize("text", ["(26x】", "【】", "<>"])
def test_time_in_other_brackets_without_a_number_is_refused(text: str) -> None:
    assert parse_time(text).candidates == ()


# --- confusions learned from the per-frame stress class (ocr14b), each with what must still be refused ----


@pytest.mark.parametrize(
    ("text", "value"),
    [
        ("2#丝:1144℃|", 1144),  # a mark after the unit: the box's edge (per-frame, binarised)
        ("2#丝:1144℃]", 1144),
        ("1#44:1297°6", 1297),  # anything after the degree sign is the unit's C (PP-OCRv5_mobile)
        ("1#丝1297°c", 1297),
        ("2#4.1147%", 1147),  # '℃' read as '%', the colon as '.' (per-frame, PP-OCRv5_mobile)
        ("2#丝,1147℃", 1147),  # the colon as ','
    ],
)
def test_confusions_seen_per_frame_parse_to_the_number(text: str, value: int) -> None:
    assert parse_temperature(text).candidates[0] == value


@pytest.mark.parametrize(
    ("text", "refused"),
    [
        ("2#丝1144|", 1144),  # no unit: a trailing '|' may be a 1, it is not dropped as a mark
        ("1#丝12°97", 12),  # a degree sign with more than one glyph after it is not the unit
        ("1#丝12°97", 97),
        ("1#丝1.147℃", 147),  # a point before 3 digits is inside the number: never cut there
        ("2#丝11%47", 47),  # '%' only as the last glyph is the unit
    ],
)
def test_what_the_per_frame_confusions_still_refuse(text: str, refused: int) -> None:
    assert refused not in parse_temperature(text).candidates


def test_wire_glyph_read_as_4_before_a_5_digit_number_ending_in_0() -> None:
    # '1#41500℃' (per-frame): 丝 read as 4, so 1500 comes before 150 (4150 is out of any range).
    candidates = parse_temperature("1#41500℃").candidates
    assert 1500 in candidates and candidates.index(1500) < candidates.index(150)
    # Negative: a number not starting with 4 keeps reading its trailing 0 as the degree sign only.
    assert parse_temperature("2#丝：11430C").candidates == (1143,)
    assert parse_temperature("2#丝：14300C").candidates == (1430,)


def test_a_stray_glyph_before_the_label_is_dropped() -> None:
    # 'L2#丝1144°℃' (per-frame seeds 2 and 3, binarised): the box's edge read as 'L'.
    parsed = parse_temperature("L2#丝1144°℃")
    assert parsed.candidates == (1144,) and parsed.label == 2
    # Negative: a leading digit is not a stray glyph, and without a label digit nothing is dropped.
    assert parse_temperature("12#丝1147°℃").candidates == ()
    assert parse_temperature("L#丝1144℃").label is None


def test_unit_read_as_6_leaves_the_number_second() -> None:
    # '1#4:9566' for 956 (per-frame seed 2): '℃' read as '6', no unit left.
    assert parse_temperature("1#4:9566").candidates == (9566, 956)
    # Negative: with a unit the 6 is the number's, and without one a 6 is still likelier the number's.
    assert parse_temperature("2#丝1146℃").candidates == (1146,)
    assert parse_temperature("1#丝1146").candidates[0] == 1146


# --- learned from held-out-2:per-frame (ocr15) ------------------------------------------------------------


def test_degree_sign_read_as_8_before_the_unit_is_dropped_after_the_readings_that_keep_it() -> None:
    # '2#411478C' for 1147 (a bold serif, both widths of PP-OCRv6_tiny): 丝 as 4, '°' as 8.
    candidates = parse_temperature("2#411478C").candidates
    assert 1147 in candidates and candidates.index(1478) < candidates.index(1147)
    # Negative: a number that ends in 8 keeps it first ('41148℃' is 1148 after 丝 as 4) ...
    assert parse_temperature("1#41148℃").candidates[0] == 1148
    # ... 4 digits before a unit are the number, and without a unit the 8 is the unit itself (as before).
    assert parse_temperature("2#丝1148℃").candidates == (1148,)
    assert parse_temperature("2#丝11478").candidates[0] == 1147
