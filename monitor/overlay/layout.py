"""Where the three overlay lines (time, 1#, 2#) are: configured, or found once per run by text detection."""

from dataclasses import dataclass

import numpy as np

from monitor.config.overlay import OverlayConfig
from monitor.overlay.engines import Detector

Rect = tuple[int, int, int, int]  # x0, y0, x1, y1 in frame pixels

# The detector searches the configured box enlarged by this share of its size, so small offsets and
# scale changes of the overlay are still found.
SEARCH_MARGIN = 0.3
LINES = 3


class LayoutError(Exception):
    """The overlay lines could not be found."""


@dataclass(frozen=True, slots=True)
class LineLayout:
    """Boxes of the time, 1# and 2# lines, in frame pixels."""

    lines: tuple[Rect, Rect, Rect]
    source: str  # "config" or "detected"

    def crops(self, image: np.ndarray) -> list[np.ndarray]:
        return [image[y0:y1, x0:x1] for x0, y0, x1, y1 in self.lines]


def configured_layout(config: OverlayConfig) -> LineLayout | None:
    if config.lines is None:
        return None
    rects = tuple((b.x, b.y, b.x + b.width, b.y + b.height) for b in config.lines)
    return LineLayout(lines=rects, source="config")  # type: ignore[arg-type]


def search_region(config: OverlayConfig, shape: tuple[int, ...]) -> Rect:
    """The configured box grown by SEARCH_MARGIN, clipped to the frame."""
    box = config.box
    mx, my = round(box.width * SEARCH_MARGIN), round(box.height * SEARCH_MARGIN)
    h, w = shape[:2]
    x0, y0 = max(box.x - mx, 0), max(box.y - my, 0)
    x1, y1 = min(box.x + box.width + mx, w), min(box.y + box.height + my, h)
    if x1 - x0 < 8 or y1 - y0 < 8:
        raise LayoutError(
            f"overlay box {box.x},{box.y} {box.width}x{box.height} lies outside the {w}x{h} frame"
        )
    return x0, y0, x1, y1


def detect_layout(image: np.ndarray, config: OverlayConfig, detector: Detector) -> LineLayout:
    """Run text detection on the overlay region; group boxes into lines; expect exactly three."""
    rx0, ry0, rx1, ry1 = search_region(config, image.shape)
    boxes = sorted(detector.detect(image[ry0:ry1, rx0:rx1]), key=lambda b: (b[1] + b[3]) / 2)
    lines: list[list[int]] = []
    for x0, y0, x1, y1 in boxes:
        centre = (y0 + y1) / 2
        if lines and lines[-1][1] <= centre <= lines[-1][3]:
            last = lines[-1]
            lines[-1] = [min(last[0], x0), min(last[1], y0), max(last[2], x1), max(last[3], y1)]
        else:
            lines.append([x0, y0, x1, y1])
    if len(lines) != LINES:
        raise LayoutError(f"found {len(lines)} text lines in the overlay region, expected {LINES}")
    # Rows: each line down to half-way to its neighbours. Columns: the whole region, since the number of
    # digits (and so the width) changes from frame to frame; each crop is trimmed to its ink later.
    height = ry1 - ry0
    tops = [0] + [(lines[i][3] + lines[i + 1][1]) // 2 for i in range(LINES - 1)]
    bottoms = [t for t in tops[1:]] + [height]
    rects = tuple(
        (rx0, ry0 + max(top, line[1] - 3), rx1, ry0 + min(bottom, line[3] + 3))
        for top, bottom, line in zip(tops, bottoms, lines, strict=True)
    )
    return LineLayout(lines=rects, source="detected")  # type: ignore[arg-type]
