"""The line layout is found once per run and kept; a frame that does not fit it costs at most one bounded
re-detection."""

import csv
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pytest

from monitor.config import parse_config
from monitor.evaluation.ocr_sweep import repaint_run
from monitor.evaluation.ocr_variants import FontFace, PaintStyle, Palette
from monitor.ingest.loader import list_frames
from monitor.overlay.digitize import digitize
from monitor.overlay.engines import TextRead
from monitor.overlay.layout import MAX_BACKOFF, LayoutKeeper, misfit
from monitor.overlay.reader import OverlayReader
from monitor.simulate import SimulatedRun

# The style of the real-rig example: a serif CJK font at 18 px, white on black, parentheses.
SERIF_RUN = PaintStyle(
    font=FontFace(
        "noto-serif-cjk", Path("/usr/share/fonts/opentype/noto/NotoSerifCJK-Regular.ttc"), "Noto Serif CJK SC"
    ),
    size_px=18,
    offset=(2, -3),
    brackets=("(", ")"),
    separator="丝：",
    unit="℃",
    palette=Palette("white-on-black", (255, 255, 255), (0, 0, 0)),
    jpeg_quality=80,
)


@pytest.fixture(scope="module")
def serif_run(heating_run: SimulatedRun, tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("serif")
    repaint_run(heating_run.out, folder, [f.file for f in heating_run.frames[:24]], lambda _i: SERIF_RUN)
    return folder


def test_an_unseen_style_is_read_exactly_with_one_layout_detection(
    onnx_reader: OverlayReader, serif_run: Path
) -> None:
    rows = digitize(list_frames(serif_run), onnx_reader, progress=False)
    with (serif_run / "truth.csv").open(encoding="utf-8") as f:
        truth = {r["file"]: r for r in csv.DictReader(f)}
    for row in rows:
        want = truth[row.file]
        assert (row.value("time"), row.value("t1"), row.value("t2")) == (
            int(want["time_s"]), int(want["t1_c"]), int(want["t2_c"])
        ), row  # fmt: skip
    assert onnx_reader.layout_detections == 1


def test_misfit_counts_lines_that_do_not_fit_their_box() -> None:
    good = [TextRead("[100]", 0.9), TextRead("1#丝950℃", 0.9), TextRead("2#丝1145℃", 0.9)]
    assert misfit(good, 100) == 0
    assert misfit(good, 101) == 1  # not the expected time
    slid = [TextRead("1#丝950℃", 0.9), TextRead("2#丝1145℃", 0.9), TextRead("", 0.0)]
    assert misfit(slid, 100) == 3  # each line shows the next one's text


def test_a_time_line_that_reads_the_expected_time_fits_at_any_confidence() -> None:
    # '【】' keep a right box's time line near 0.78 (latin-bold, black-on-light: 9-13 useless detections).
    reads = [TextRead("【370】", 0.5), TextRead("1#丝1403℃", 0.96), TextRead("2#丝1149℃", 0.94)]
    assert misfit(reads, 370, min_confidence=0.8) == 0
    # Negative: a low-confidence time line that is not the expected time, or without one expected, counts
    # twice as before; so does a low-confidence temperature line.
    assert misfit(reads, 371, min_confidence=0.8) == 2
    assert misfit(reads, None, min_confidence=0.8) == 1
    low_temp = [reads[0], TextRead("1#丝1403℃", 0.6), reads[2]]
    assert misfit(low_temp, 370, min_confidence=0.8) == 1


@dataclass
class CountingDetector:
    """Finds three lines, `shift` px lower on each call."""

    shift: int = 0
    calls: int = 0
    step: int = 0

    def detect(self, image: np.ndarray) -> list[tuple[int, int, int, int]]:
        self.calls += 1
        y = self.shift * (self.calls - 1)
        return [(2, y + 2 + 18 * i, 90, y + 16 + 18 * i) for i in range(3)]


@dataclass
class NoisyReads:
    """Every read misfits (a noisy stretch of frames), whatever the boxes."""

    calls: list[int] = field(default_factory=list)

    def __call__(self, crops: list[np.ndarray]) -> list[TextRead]:
        self.calls.append(len(crops))
        return [TextRead("~", 0.2)] * 3


@pytest.mark.parametrize("shift", [0, 1], ids=["same-boxes", "moving-boxes"])
def test_a_noisy_stretch_costs_a_bounded_number_of_detections(shift: int) -> None:
    config = parse_config({}, env={})
    detector = CountingDetector(shift=shift)
    keeper = LayoutKeeper(config.overlay, detector)
    reads = NoisyReads()
    frame = np.zeros((240, 320, 3), np.uint8)
    frames = 120
    first = None
    for i in range(frames):
        before = detector.calls
        keeper.look(frame, reads, 100 + i)
        first = first or keeper.layout
        assert detector.calls - before <= 1 + (i == 0)  # the first frame finds the layout, then at most 1
    # Pauses of 1, 2, 4 ... MAX_BACKOFF frames after each re-detection that did not help.
    assert keeper.detections == detector.calls <= 2 + 5 + frames // MAX_BACKOFF
    assert keeper.detections > 2  # it does keep trying, now and then
    assert keeper.layout == first  # re-detected boxes that read no better are not taken


def test_a_new_run_starts_with_no_layout() -> None:
    config = parse_config({}, env={})
    keeper = LayoutKeeper(config.overlay, CountingDetector())
    keeper.look(np.zeros((240, 320, 3), np.uint8), NoisyReads(), None)
    keeper.new_run()
    assert keeper.layout is None and keeper.detections == 0
