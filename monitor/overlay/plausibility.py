"""Plausibility of overlay readings, as meter readers do it: time advances with the frames and agrees with the
file name; a temperature lies in range and within a maximum rate of the last accepted value.

A candidate that fails is never replaced by a guess: the field keeps its raw text and gets an error.
"""

import itertools
from dataclasses import dataclass, field

from monitor.config.overlay import PlausibilityConfig

# A thermocouple that keeps reading consistently after being rejected for a jump has really moved
# (or the first accepted value was wrong): the REANCHOR_AFTER-th mutually consistent reading in a row
# (the current one included) is accepted and becomes the new reference.
REANCHOR_AFTER = 3


@dataclass(frozen=True, slots=True)
class Verdict:
    """The accepted candidate, or None with the reason; `suspect` = a candidate that failed only on rate."""

    value: int | None
    error: str | None = None
    suspect: int | None = None


@dataclass(slots=True)
class _Track:
    """What is known of one thermocouple's recent readings."""

    value: int | None = None
    time_s: float | None = None
    rejected: list[tuple[int, float]] = field(default_factory=list)


class TimeCheck:
    """The time field: equals the file name's second, or the last accepted time + the frames elapsed."""

    def __init__(self) -> None:
        self._last: tuple[int, int] | None = None  # (time, frame index)

    def expected(self, index: int, name_time: int | None) -> int | None:
        if name_time is not None:
            return name_time
        if self._last is None:
            return None
        time, last_index = self._last
        return time + (index - last_index)

    def evaluate(self, candidates: tuple[int, ...], index: int, name_time: int | None) -> Verdict:
        """Judge candidates without changing what is remembered."""
        if not candidates:
            return Verdict(None, "unreadable")
        expected = self.expected(index, name_time)
        if expected is None:
            return Verdict(candidates[0])
        if expected in candidates:
            return Verdict(expected)
        read = candidates[0]
        if self._last is not None and read == self._last[0]:
            return Verdict(None, f"time stuck at {read}")
        source = "file name" if name_time is not None else "previous frame"
        return Verdict(None, f"time {read} != {expected} expected from the {source}")

    def commit(self, verdict: Verdict, index: int) -> None:
        if verdict.value is not None:
            self._last = (verdict.value, index)


class TemperatureCheck:
    """A temperature field: in [t_min_c, t_max_c] and within max_rate_c_per_s of the last accepted value."""

    def __init__(self, config: PlausibilityConfig) -> None:
        self.config = config
        self._track = _Track()

    def evaluate(self, candidates: tuple[int, ...], time_s: float) -> Verdict:
        """Judge candidates without changing what is remembered."""
        if not candidates:
            return Verdict(None, "unreadable")
        cfg = self.config
        in_range = [c for c in candidates if cfg.t_min_c <= c <= cfg.t_max_c]
        if not in_range:
            return Verdict(None, f"{candidates[0]} outside {cfg.t_min_c:g}..{cfg.t_max_c:g} degC")
        track = self._track
        if track.value is None or track.time_s is None:
            return Verdict(in_range[0])
        dt = max(time_s - track.time_s, 1.0)
        for value in in_range:
            if abs(value - track.value) <= cfg.max_rate_c_per_s * dt:
                return Verdict(value)
        # Of readings that all jump, the nearest is the one a second look may confirm.
        value = min(in_range, key=lambda c: abs(c - track.value))  # type: ignore[operator]
        if self._reanchors(value, time_s):
            return Verdict(value)
        return Verdict(None, self.jump(value, time_s), suspect=value)

    def jump(self, value: int, time_s: float) -> str:
        """Describe a change from the last accepted value."""
        track = self._track
        dt = max(time_s - (track.time_s if track.time_s is not None else time_s), 1.0)
        return f"jump {track.value} -> {value} in {dt:g} s"

    def commit(self, verdict: Verdict, candidates: tuple[int, ...], time_s: float) -> None:
        if verdict.value is not None:
            self._track = _Track(value=verdict.value, time_s=time_s)
        elif verdict.suspect is not None:
            self._track.rejected = [*self._track.rejected, (verdict.suspect, time_s)][-REANCHOR_AFTER:]

    def check(self, candidates: tuple[int, ...], time_s: float) -> Verdict:
        """Evaluate and commit in one step."""
        verdict = self.evaluate(candidates, time_s)
        self.commit(verdict, candidates, time_s)
        return verdict

    def _reanchors(self, value: int, time_s: float) -> bool:
        """True when this value and the last rejections agree with each other: the reading really moved."""
        chain = [*self._track.rejected, (value, time_s)][-REANCHOR_AFTER:]
        if len(chain) < REANCHOR_AFTER:
            return False
        rate = self.config.max_rate_c_per_s
        return all(
            abs(v2 - v1) <= rate * max(t2 - t1, 1.0) for (v1, t1), (v2, t2) in itertools.pairwise(chain)
        )
