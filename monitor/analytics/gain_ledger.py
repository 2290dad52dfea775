"""The run's gain and each frame's level (its raw mean divided by the gain) as given out online, and the
levels known better in hindsight (a ramp's, a glint's, a step measured again or given back to the scene).
The camera tracker (camera.py) decides what the camera did; this keeps the books of it."""

import math
from dataclasses import dataclass, field


@dataclass(slots=True)
class GainLedger:
    log_gain: float = 0.0  # the run's gain relative to its first frame, as a log
    raw: list[float] = field(default_factory=list)  # each frame's whole-frame mean
    levels: list[float] = field(default_factory=list)  # each frame's level, as last given
    given: list[float] = field(default_factory=list)  # each frame's log gain, as given online
    revised: list[tuple[int, float]] = field(default_factory=list)  # levels known better, not yet taken

    def shift(self, log_ratio: float) -> None:
        """The camera's gain moved by log_ratio from the next level given on (a step registered, measured
        again or undone)."""
        self.log_gain += log_ratio

    def give(self) -> float:
        """The latest frame's level at the gain as it stands now."""
        level = self.raw[-1] / math.exp(self.log_gain)
        self.levels.append(level)
        self.given.append(self.log_gain)
        return level

    def take_revisions(self) -> list[tuple[int, float]]:
        """(frame index, level) of earlier frames whose level is known better now, each given once."""
        revised, self.revised = self.revised, []
        for i, level in revised:
            self.levels[i] = level
        return revised

    def bridge(self, first: int, last: int, trend: float) -> None:
        """Frames first..last were the camera's: their level carries on from the frame before at `trend`
        (the scene's own log-change a frame)."""
        if first > 0:
            base = self.levels[first - 1]
            self.revised += [(j, base * math.exp(trend * (j - first + 1))) for j in range(first, last + 1)]

    def regain(self, first: int, end: int) -> None:
        """Frames first..end-1 went out before the gain they carry was known: their levels are revised."""
        for j in range(first, end):
            self.levels[j], self.given[j] = self.raw[j] / math.exp(self.log_gain), self.log_gain
            self.revised.append((j, self.levels[j]))

    def give_back(self, first: int, last: int, log_ratio: float, end: int) -> None:
        """A step over frames first..last (log_ratio) was the scene's: the gain loses it, and the levels of
        frames first..end-1 are revised without it."""
        self.shift(-log_ratio)
        given = [self.given[j] - (log_ratio if j > last else 0.0) for j in range(first, end)]
        self.revised += [(j, self.raw[j] / math.exp(g)) for j, g in enumerate(given, start=first)]
