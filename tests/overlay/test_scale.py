"""The run's first width: widened crops, the swap after sure reads at the other width, the reset."""

from dataclasses import dataclass, field

import cv2
import numpy as np

from monitor.config import parse_config
from monitor.overlay.engines import TextRead
from monitor.overlay.reader import OverlayReader
from monitor.overlay.scale import SWITCH_AFTER, WidthKeeper, widen


def test_widen_stretches_only_the_width() -> None:
    crop = np.zeros((18, 100, 3), np.uint8)
    assert widen(crop, 1.3).shape == (18, 130, 3)
    assert widen(crop, 1.0) is crop


def test_the_other_width_becomes_the_first_after_wins_in_a_row() -> None:
    keeper = WidthKeeper()
    for _ in range(SWITCH_AFTER - 1):
        keeper.record(other_sure=True)
    assert keeper.width == 1.0
    keeper.record(other_sure=True)
    assert (keeper.width, keeper.other, keeper.switches) == (1.3, 1.0, 1)


def test_a_doubtful_read_at_the_other_width_resets_the_count() -> None:
    keeper = WidthKeeper()
    for sure in [True] * (SWITCH_AFTER - 1) + [False] + [True] * (SWITCH_AFTER - 1):
        keeper.record(other_sure=sure)
    assert keeper.width == 1.0 and keeper.switches == 0


def test_restart_goes_back_to_the_drawn_width_and_one_width_has_no_other() -> None:
    keeper = WidthKeeper()
    for _ in range(SWITCH_AFTER):
        keeper.record(other_sure=True)
    keeper.restart()
    assert keeper.width == 1.0 and keeper.switches == 1
    assert WidthKeeper((1.0,)).other is None


# --- in the reader: a font whose '11' the first model hesitates on at its drawn width -------------------


@dataclass
class WidthAware:
    """Reads 2# sure only from a crop wider than the line box (101 px), as PP-OCRv6_tiny does a mono font."""

    name: str = "first"
    widths: list[list[int]] = field(default_factory=list)

    def recognize(self, crops: list[np.ndarray]) -> list[TextRead]:
        self.widths.append([c.shape[1] for c in crops])
        reads = []
        for c in crops:
            wide = c.shape[1] > 101
            p = 1.0 if wide else 0.7  # the first 1 of 1142
            reads.append(TextRead("2#丝1142℃", 0.95, (1.0, 1.0, 1.0, p, 1.0, 1.0, 1.0, 1.0)))
        if len(crops) == 3:  # a frame's first reads: its time counts the frames
            frame = sum(len(w) == 3 for w in self.widths) - 1
            reads[:2] = [TextRead(f"[{100 + frame}]", 0.99), TextRead("1#丝950℃", 0.99)]
        return reads


@dataclass
class Counting:
    name: str = "second"
    calls: int = 0

    def recognize(self, crops: list[np.ndarray]) -> list[TextRead]:
        self.calls += 1
        return [TextRead("2#丝1142℃", 0.99)] * len(crops)


def test_a_run_whose_2_is_sure_only_wider_is_read_wider_without_the_second_model() -> None:
    first, second = WidthAware(), Counting()
    lines = [{"x": 0, "y": 18 * i, "width": 101, "height": 18} for i in range(3)]
    config = parse_config({"overlay": {"lines": lines}}, env={})
    reader = OverlayReader(
        overlay=config.overlay, ocr=config.ocr, recognizer=first, detector=None, second=second
    )
    frame = cv2.merge([np.zeros((60, 120), np.uint8)] * 3)
    readings = [reader.read(frame, index=i, name=f"{100 + i:04d}.jpg") for i in range(SWITCH_AFTER + 3)]
    assert all(r.t2.value == 1142 and r.t2.error is None for r in readings)
    assert second.calls == 0  # every doubtful read was sure at 1.3x
    assert reader.counts.widened == SWITCH_AFTER and reader.counts.width_switches == 1
    # The first frames: the three lines as drawn, then 2# again 1.3x wide; after the swap, one call 1.3x wide.
    assert first.widths[:2] == [[101, 101, 101], [131]]
    assert first.widths[-1] == [131, 131, 131]
    assert len(first.widths) == 2 * SWITCH_AFTER + 3
