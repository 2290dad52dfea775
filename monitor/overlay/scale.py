"""How wide the first model sees a line, learned per run.

PP-OCRv6_tiny is a CTC recogniser: it emits one symbol per 8-px column step of the crop resized to 48 px
high, and two equal digits in a row ('11' of 1147) are two symbols only when a blank step falls between
them. In some fonts there is barely room (Liberation Mono 15 px, FreeSerif Bold 19 px, FreeMono Bold
13 px in the sweep): the first model hesitates on the first 1 of '1142' (median 0.65-0.8 over such a run,
so nearly every frame went to the second model) or drops it ('148' for 1148).
The same crop 1.3x wider gives it the room. It is no cure-all: on the simulator's own font
1.3x wider reads sent 4.4x as many fields to the second model (30 -> 132 in 300 frames), and 1.5x lost
values in two colour classes (the sweep, branch ocr15). So the width is a per-run choice, like the layout:

- a field the first model doubts at the run's width is read once more by it at the other width, before
  the second model; a read there that is sure (plausible, every digit >= 0.9, on 1#'s trend) is taken
  as a sure first read would be;
- after `SWITCH_AFTER` such wins in a row, the other width becomes the run's first width (the next frames
  are read at it first, the old one becomes the fallback). A doubtful read the other width did not make
  sure resets the count; the count needed (SWITCH_AFTER) keeps a run where neither width is better from
  swapping back and forth;
- when the overlay moves (the layout keeper takes new line boxes), the run starts over at the drawn
  width: a new place may be a new style. Without this, the per-frame stress classes (a new style every
  frame) kept reading at whichever width three frames in a row had liked (held-out:per-frame 2# 99.67 ->
  98.67 %).
"""

from dataclasses import dataclass

import cv2
import numpy as np

WIDTHS = (1.0, 1.3)  # horizontal scale of the trimmed crop: as drawn, and 1.3x wider
# Wins of the other width in a row that make it the run's first width. Where the wider crop is the cure
# (Liberation Mono, FreeSerif Bold) it wins on nearly every frame (147 of 150), so 8 in a row come
# within the first 10 frames; 3 in a row also came by chance where neither width is better (the reference
# run, FreeMono Bold), and the run then swapped back and forth or stayed at the worse width
# (held-out 34.8 frames/CPU-s with 3 or 5, 41.5 with 8).
SWITCH_AFTER = 8


def widen(crop: np.ndarray, factor: float) -> np.ndarray:
    """The crop stretched horizontally by `factor` (cubic), its height kept."""
    if factor == 1.0:
        return crop
    return cv2.resize(crop, None, fx=factor, fy=1.0, interpolation=cv2.INTER_CUBIC)


@dataclass(slots=True)
class WidthKeeper:
    """The run's first width and its fallback, swapped when the fallback keeps reading surer."""

    widths: tuple[float, ...] = WIDTHS
    first: int = 0  # index into widths of the run's first width
    wins: int = 0  # the other width's sure reads in a row where the first width's were doubtful
    switches: int = 0

    def new_run(self) -> None:
        self.restart()
        self.switches = 0

    def restart(self) -> None:
        """Back to the drawn width: the overlay moved, so it may be another style (per-frame variation)."""
        self.first, self.wins = 0, 0

    @property
    def width(self) -> float:
        return self.widths[self.first]

    @property
    def other(self) -> float | None:
        """The fallback width, or None when only one is configured (no second look at another width)."""
        return self.widths[1 - self.first] if len(self.widths) == 2 else None

    def record(self, *, other_sure: bool) -> None:
        """One doubtful field re-read at the other width: sure there or not."""
        self.wins = self.wins + 1 if other_sure else 0
        if self.wins >= SWITCH_AFTER and self.other is not None:
            self.first, self.wins, self.switches = 1 - self.first, 0, self.switches + 1
