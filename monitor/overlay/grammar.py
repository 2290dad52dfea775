"""Turn recognised overlay text into candidate numbers, by the overlay's grammar, not by character position.

Time line: one mark, the integer, one mark ('[548]', '(548)', '<548>', '【548】'). Temperature line: the
thermocouple label 'N#', the wire glyph '丝' (often misread), maybe a colon, the integer, the unit '℃' (read
as '°C', 'C', '8', or lost). The grammar yields candidates in order of preference; plausibility picks the
first that fits, or flags the field.

The confusions below were learned from `evaluate-ocr --variants` (fonts, sizes, colours, brackets), each
with the raw read that showed it; tests/overlay/test_grammar.py holds them and what must still be refused.
"""

import re
import unicodedata
from dataclasses import dataclass, field

# Glyphs the recogniser confuses with digits, inside a number.
_DIGIT_LIKE = str.maketrans("OoDQlI|i!SsBZzgq", "0000111115582299")
# After NFKC '℃' is '°C'. Doubled units happen: '1147°C℃' (a sans CJK font), '1382°℃'.
# PP-OCRv5_mobile reads '℃' as '°0' or a bare '0' ('2#丝：13640' for 1364) in Latin sans fonts.
# Whatever follows a degree sign at the end is the unit's C ('1#44:1297°6', PP-OCRv5_mobile on a Latin sans);
# '%' is '℃' read whole (a serif CJK font at 13 px: '2#4.1147%').
_UNIT = re.compile(r"(?:[°º'`\"]*[CcG])+$|[°º]+.?$|%$")
# The label 'N#': '#' is read as '并', '卄', '什' or 'H' in CJK fonts; the digit as 'l', 'I', '|', '!'.
# Or the '#' is lost and the digit stands right before the (non-ASCII) wire glyph: '2丝1145℃'.
_LABEL = re.compile(r"^([12lI|!]?)\s*[#＃H*并卄什廾]|^([12])(?=[^\x00-\x7f])")
_LABEL_DIGIT = {"1": 1, "l": 1, "I": 1, "|": 1, "!": 1, "2": 2}
_MARKS = set("[]()<>{}|【】「」『』〔〕")
# A colon after the wire glyph (':' or full-width '：', both ':' after NFKC), or a misread of it.
# A colon's dots read as one '.' or ',' ('2#4.1147%'): a separator only before a whole 4-digit number, so a
# point inside a number ('1.147') never cuts it.
_SEPARATOR = re.compile(r"[:;]|[.,](?=\d{4}\D*$)")
# Marks after the unit: the box's edge or a stray bracket ('2#丝:1144℃|').
_TRAILING_MARKS = "".join(sorted(_MARKS)) + "_-"


@dataclass(frozen=True, slots=True)
class Parsed:
    """Candidate values of one field, most likely first; empty with an error when nothing parses.

    `label` is the thermocouple number read on a temperature line (None when not read), which tells a
    line box that slid onto the wrong line.
    """

    candidates: tuple[int, ...]
    error: str | None = None
    label: int | None = field(default=None, compare=False)


def _normalise(text: str) -> str:
    # NFKC turns full-width digits and '℃' into ASCII ('°C'); spaces carry no meaning in the overlay.
    return re.sub(r"\s+", "", unicodedata.normalize("NFKC", text))


def _digits(text: str) -> str | None:
    mapped = text.translate(_DIGIT_LIKE)
    return mapped if mapped.isdigit() else None


def _unique(values: list[str]) -> tuple[int, ...]:
    seen: list[int] = []
    for v in values:
        if v and int(v) not in seen:
            seen.append(int(v))
    return tuple(seen)


def parse_time(text: str) -> Parsed:
    """'[548]' -> 548. A mark read as a digit ('1548]') leaves both readings as candidates."""
    s = _normalise(text)
    if not s:
        return Parsed((), "empty")
    lead_mark = not s[0].isdigit()
    tail_mark = not s[-1].isdigit()
    core = s[1 if lead_mark else 0 : len(s) - 1 if tail_mark and len(s) > 1 else len(s)]
    core = core.strip("".join(_MARKS))
    digits = _digits(core)
    if digits is None:
        return Parsed((), f"no integer in {text!r}")
    options = [digits]
    if not lead_mark and len(digits) > 1:
        options.append(digits[1:])
    if not tail_mark and len(digits) > 1:
        options.append(digits[:-1])
    if not lead_mark and not tail_mark and len(digits) > 2:
        options.append(digits[1:-1])
    return Parsed(_unique(options))


def parse_temperature(text: str) -> Parsed:
    """'1#丝951℃' -> 951; '1#丝9518' (unit read as 8) -> 951 first, 9518 second."""
    s = _normalise(text)
    stripped = s.rstrip(_TRAILING_MARKS)
    if stripped != s and _UNIT.search(stripped):
        s = stripped  # only after a unit: '1144|' may be '11441'
    if not s:
        return Parsed((), "empty")
    # A stray glyph before the label: the box's edge read as 'L' ('L2#丝1144°℃', per-frame seeds 2 and 3).
    # Only a non-digit, and only when a label with its digit follows.
    if not _LABEL.match(s) and len(s) > 2 and not s[0].isdigit():
        after = _LABEL.match(s[1:])
        if after and (after.group(1) or after.group(2)):
            s = s[1:]
    label = _LABEL.match(s)
    rest = s[label.end() :] if label else s
    number = _LABEL_DIGIT.get(label.group(1) or label.group(2)) if label else None
    # Whatever the wire glyph was read as ('44', '始', '4'), it ends at the colon when there is one.
    parts = _SEPARATOR.split(rest)
    separated = len(parts) > 1 and bool(parts[-1])
    if separated:
        rest = parts[-1]
    unit = _UNIT.search(rest)
    body = rest[: unit.start()] if unit else rest
    # The wire glyph (丝 or whatever it was read as) sits between label and number.
    while body and _digits(body[0]) is None:
        body = body[1:]
    digits = _digits(body)
    if not digits:
        return Parsed((), f"no temperature in {text!r}", number)
    # Drop up to two leading digits (a misread wire glyph) and, when no unit was seen and the number ends
    # in 8, the trailing one (the unit read as '8'), which is then the likelier reading; a trailing 0 or 6
    # may be the unit too ('1#4:9566' for 956, per-frame seed 2), but a number ending in 0 or 6 is
    # likelier, so that reading comes second.
    tail_drops = (1, 0) if unit is None and digits.endswith("8") else (0,)
    if unit is None and digits.endswith(("0", "6")):
        tail_drops = (0, 1)
    # '°C' in a mono font: the degree sign read as '0' before the C ('2#丝：11430C' for 1143).
    if unit is not None and len(digits) == 5 and digits.endswith("0"):
        # ... unless the first digit is 丝 read as '4' ('1#41500℃' for 1500): then the 0 is the number's.
        tail_drops = (0, 1) if digits.startswith("4") else (1,)
    # ... or as '8' ('2#411478C' for 1147: 丝 as 4, '°' as 8; both widths of PP-OCRv6_tiny on a bold serif,
    # held-out-2:per-frame). More than 4 digits before a unit hold one that is not the number's. Every
    # reading that keeps the 8 ('41148℃' is 1148) comes before those that drop it, which plausibility
    # picks only when the others fail ('2#411478C': 1478 is a jump from 1146, 1147 is not).
    tail_last = unit is not None and len(digits) >= 5 and digits.endswith("8")
    if tail_last:
        tail_drops = (0, 1)
    # After a colon nothing of the wire glyph is left to drop.
    keep_lead = separated or (label and len(digits) <= 4 and not digits.startswith("0"))
    lead_drops: tuple[int, ...] = (0,) if keep_lead else (0, 1, 2)
    if lead_drops == (0,) and not separated and len(digits) == 4 and digits.startswith("4"):
        # '1#4998℃': 丝 read as '4' (the reference run, ~1 frame in 10 while 1# is below 1000 degC); 4998
        # is out of range, so 998 is the reading, and it must still pass the rate and trend checks.
        lead_drops = (0, 1)
    cuts = [(lead, tail) for lead in lead_drops for tail in tail_drops]
    if tail_last:
        cuts.sort(key=lambda c: c[1])
    options = [
        cut
        for lead, tail in cuts
        if (cut := digits[lead : len(digits) - tail])
        and (cut == "0" or not cut.startswith("0"))
        and (len(cut) <= 4 if lead == tail == 0 else 3 <= len(cut) <= 4)
    ]
    if not options:
        return Parsed((), f"no 3-4 digit temperature in {text!r}", number)
    return Parsed(_unique(options), label=number)
