"""Trusting the first model's hesitation on a pair of equal digits, once a run has shown it is harmless.

In some fonts the first model hesitates on the '11' of 1147 on nearly every frame at both widths
(FreeMono Bold, `held-out`: the first 1 at 0.55-0.6, or the second), while it reads the number right and
the second model agrees every time. That is CTC's doubt whether a blank fell between two equal digits
(see scale.py), not a doubt about which digit it is. Re-reading each such frame with the second model
cost that run half its speed. So, per temperature line and per run:

- a first read is *pair-hesitant* when it is plausible and confident as a line, and every digit below
  the per-digit threshold (but >= `FLOOR`) is one of two equal neighbours in the thousands or hundreds
  place, where a wrong digit moves the value by >= 100 degC: a jump the rate check refuses;
- after `TRUST_AFTER` pair-hesitant first reads in a row that the second model confirmed, the next ones
  are accepted alone (still plausible, still on 1#'s trend: anything else is re-read as before);
- every `AUDIT_EVERY`-th of them is re-read anyway, and any pair-hesitant read that ends as another
  value or a blank withdraws the trust until it is earned again;
- a moved overlay (new line boxes) withdraws it too: it may be another style.
"""

from dataclasses import dataclass, field

from monitor.overlay.opinion import Decision, Look

TRUST_AFTER = 5  # confirmed pair-hesitant reads in a row that earn the trust
AUDIT_EVERY = 10  # of the reads accepted on trust, this one is re-read all the same
# A digit below this is more than a pair's doubt: CTC split between '1' and '11' puts it near 0.5 (0.50-0.74
# on the first 1 of 114x in the FreeMono Bold run).
FLOOR = 0.4


def pair_hesitant(look: Look, *, min_digit: float, min_confidence: float) -> bool:
    """True when the look's only doubt is CTC's on a pair of equal leading digits (see the module)."""
    value = look.verdict.value
    if value is None or look.read.confidence < min_confidence:
        return False
    digits, probs = str(value), look.read.digit_confidences(value)
    if len(probs) != len(digits):
        return False
    unsure = [i for i, p in enumerate(probs) if p < min_digit]
    return bool(unsure) and all(
        probs[i] >= FLOOR and i < len(digits) - 2 and _paired(digits, i) for i in unsure
    )


def _paired(digits: str, i: int) -> bool:
    return (i > 0 and digits[i - 1] == digits[i]) or (i + 1 < len(digits) and digits[i + 1] == digits[i])


@dataclass(slots=True)
class _Line:
    streak: int = 0  # confirmed pair-hesitant reads in a row
    accepted: int = 0  # reads accepted on trust since it was earned


@dataclass(slots=True)
class PairTrust:
    """Per temperature line: whether its pair-hesitant first reads may stand alone in this run."""

    lines: dict[int, _Line] = field(default_factory=dict)
    accepted: int = 0  # reads accepted on trust, this run

    def new_run(self) -> None:
        self.lines.clear()
        self.accepted = 0

    def withdraw(self) -> None:
        """The overlay moved: earn the trust again."""
        self.lines.clear()

    def excuses(self, line: int) -> bool:
        """True when this line's pair-hesitant first read may stand alone (and counts it), False when it
        must be re-read: trust not earned, or this one is an audit."""
        state = self.lines.setdefault(line, _Line())
        if state.streak < TRUST_AFTER:
            return False
        state.accepted += 1
        if state.accepted % AUDIT_EVERY == 0:
            return False
        self.accepted += 1
        return True

    def learn(self, line: int, first: Look, decision: Decision, looks: list[Look]) -> None:
        """After a pair-hesitant first read was re-read: did another model stand for its number?"""
        state = self.lines.setdefault(line, _Line())
        number = first.verdict.value
        confirmed = decision.value == number and any(
            look.engine != first.engine and look.number == number for look in looks
        )
        if decision.value != number:
            self.lines[line] = _Line()  # the hesitation hid a misread or a doubt: trust withdrawn
        elif confirmed:
            state.streak += 1
