"""Where the three overlay lines (time, 1#, 2#) are: configured, or found once per run by text detection."""

import logging
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from monitor.config.overlay import OverlayConfig
from monitor.overlay.engines import Detector, TextRead
from monitor.overlay.grammar import parse_temperature, parse_time

log = logging.getLogger(__name__)

Rect = tuple[int, int, int, int]  # x0, y0, x1, y1 in frame pixels

# The detector searches the configured box enlarged by this share of its size, so offsets of a few px and
# fonts up to 20 px (a box of ~150x80) are still found.
SEARCH_MARGIN = 0.5
LINES = 3
# After a re-detection that did not help (a noisy frame, not a moved overlay), the next misfit frames
# keep the boxes without trying again: 1, 2, 4 ... up to this many frames.
MAX_BACKOFF = 32


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


def misfit(reads: list[TextRead], expected_time: int | None, min_confidence: float = 0.0) -> int:
    """How many of the three reads do not fit their line: no number, a time that is not the expected one,
    a temperature labelled with the other thermocouple (the boxes slid by a line), or a read below
    `min_confidence` (a box that cuts the glyphs of a larger or shifted font). A time line that reads the
    expected time fits whatever its confidence: brackets such as '【】' keep it near 0.78 in a box that is
    right, and re-detecting there only wasted detections and paused the one a moved overlay needed."""
    time = parse_time(reads[0].text)
    on_time = expected_time is not None and expected_time in time.candidates
    count = int(not time.candidates or (expected_time is not None and not on_time))
    for number, read in ((1, reads[1]), (2, reads[2])):
        parsed = parse_temperature(read.text)
        count += int(not parsed.candidates or parsed.label not in (None, number))
    count += sum(read.confidence < min_confidence for read in reads[1 if on_time else 0 :])
    return count


class LayoutKeeper:
    """The line boxes of one run: found once, kept, and found again at most once per frame that does not
    fit them, only when the new boxes read better, and with a growing pause after re-detections that did
    not help, so a noisy stretch of frames costs a bounded number of detections."""

    def __init__(
        self, config: OverlayConfig, detector: Detector | None, *, min_confidence: float = 0.0
    ) -> None:
        self.config = config
        self.detector = detector
        self.min_confidence = min_confidence
        self._fixed = configured_layout(config)
        if self._fixed is None and detector is None:
            raise ValueError("without overlay.lines a text detector is needed to find the lines")
        self.new_run()

    def new_run(self) -> None:
        self.layout: LineLayout | None = self._fixed
        self.detections = 0
        self._frame = 0
        self._pause = 0
        self._resume_at = 0

    def look(
        self,
        image: np.ndarray,
        read: Callable[[list[np.ndarray]], list[TextRead]],
        expected_time: int | None,
    ) -> tuple[list[np.ndarray], list[TextRead]]:
        """The frame's line crops and their first reads, through the kept boxes or re-detected ones."""
        frame, self._frame = self._frame, self._frame + 1
        if self.layout is None:
            self.layout = self._detect(image)
        crops = self.layout.crops(image)
        reads = read(crops)
        bad = misfit(reads, expected_time, self.min_confidence)
        if not bad or self.layout.source != "detected" or frame < self._resume_at:
            return crops, reads
        try:
            candidate = self._detect(image)
        except LayoutError as exc:
            log.info("frame %d: re-detection failed (%s); keeping the line boxes", frame, exc)
            candidate = None
        if candidate is not None and candidate.lines != self.layout.lines:
            new_crops = candidate.crops(image)
            new_reads = read(new_crops)
            if misfit(new_reads, expected_time, self.min_confidence) < bad:
                log.info("frame %d: the overlay moved; lines now at %s", frame, candidate.lines)
                self.layout, self._pause = candidate, 0
                return new_crops, new_reads
        self._pause = min(max(2 * self._pause, 1), MAX_BACKOFF)
        self._resume_at = frame + 1 + self._pause
        return crops, reads

    def _detect(self, image: np.ndarray) -> LineLayout:
        assert self.detector is not None
        self.detections += 1
        layout = detect_layout(image, self.config, self.detector)
        log.info("overlay lines found at %s", layout.lines)
        return layout
