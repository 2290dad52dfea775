"""digitize on a folder with bad files in it; the CSV and XLSX tables; the evaluation against truth."""

import shutil
from pathlib import Path

import cv2
import numpy as np
import pytest

from monitor.config import parse_config
from monitor.evaluation.ocr import read_truth, score
from monitor.ingest.loader import list_frames
from monitor.overlay.digitize import digitize
from monitor.overlay.reader import OverlayReader
from monitor.overlay.table import COLUMNS, read_table, write_table
from monitor.simulate import SimulatedRun


@pytest.fixture
def damaged_run(heating_run: SimulatedRun, tmp_path: Path) -> Path:
    """The first 12 frames of the heating run with four of them spoiled in different ways."""
    folder = tmp_path / "run"
    folder.mkdir()
    for frame in heating_run.frames[:12]:
        shutil.copy(heating_run.out / frame.file, folder / frame.file)
    shutil.copy(heating_run.out / "truth.csv", folder / "truth.csv")
    (folder / "0113.jpg").write_bytes(b"")
    data = (folder / "0114.jpg").read_bytes()
    (folder / "0114.jpg").write_bytes(data[: len(data) // 2])
    (folder / "0115.jpg").write_text("not a picture", encoding="utf-8")
    small = cv2.imencode(".jpg", np.zeros((100, 100, 3), np.uint8))[1].tobytes()
    (folder / "0116.jpg").write_bytes(small)
    return folder


def test_bad_frames_become_flagged_rows(damaged_run: Path, onnx_reader: OverlayReader) -> None:
    rows = digitize(list_frames(damaged_run), onnx_reader, size=(320, 240), progress=False)
    assert [r.no for r in rows] == list(range(1, 13))
    flags = {r.file: r.flags for r in rows if r.flags and r.reading is None}
    assert flags == {
        "0113.jpg": ["frame: 0113.jpg: empty file"],
        "0114.jpg": [flags["0114.jpg"][0]],
        "0115.jpg": ["frame: 0115.jpg: not a JPEG, PNG, BMP or TIFF image"],
        "0116.jpg": ["frame: 0116.jpg: wrong size 100x100, expected 320x240"],
    }
    assert flags["0114.jpg"][0].startswith("frame: 0114.jpg: truncated JPEG")
    truth = read_truth(damaged_run / "truth.csv")
    good = [r for r in rows if r.reading is not None]
    assert len(good) == 8
    for r in good:  # frames after the bad ones are read as well as before
        assert r.value("time") == int(truth[r.file]["time_s"])
        assert r.value("t1") == int(truth[r.file]["t1_c"])


def test_table_columns_and_empty_cells(damaged_run: Path, onnx_reader: OverlayReader, tmp_path: Path) -> None:
    rows = digitize(list_frames(damaged_run), onnx_reader, progress=False)
    write_table(tmp_path / "t.csv", rows)
    header = (tmp_path / "t.csv").read_text(encoding="utf-8").splitlines()[0]
    assert header == "NO,Time,1# Temperature,2# Temperature,1# confidence,2# confidence,flags"
    table = read_table(tmp_path / "t.csv")
    empty = next(r for r in table if r["NO"] == "4")
    assert empty["Time"] == empty["1# Temperature"] == empty["2# Temperature"] == ""
    assert empty["flags"] == "frame: 0113.jpg: empty file"
    first = table[0]
    assert first["Time"] == "110" and float(first["1# confidence"]) > 0.9


def test_xlsx_holds_the_same_values_as_csv(
    damaged_run: Path, onnx_reader: OverlayReader, tmp_path: Path
) -> None:
    rows = digitize(list_frames(damaged_run), onnx_reader, progress=False)
    write_table(tmp_path / "t.csv", rows)
    write_table(tmp_path / "t.xlsx", rows)
    as_csv, as_xlsx = read_table(tmp_path / "t.csv"), read_table(tmp_path / "t.xlsx")
    assert list(as_xlsx[0]) == list(COLUMNS)
    assert len(as_csv) == len(as_xlsx) == 12
    for a, b in zip(as_csv, as_xlsx, strict=True):
        for column in COLUMNS:
            if "confidence" in column and a[column]:
                assert float(a[column]) == pytest.approx(float(b[column]))
            else:
                assert a[column] == b[column], column


def test_score_counts_exact_empty_and_wrong(damaged_run: Path, onnx_reader: OverlayReader) -> None:
    rows = digitize(list_frames(damaged_run), onnx_reader, progress=False)
    result = score(rows, read_truth(damaged_run / "truth.csv"))
    t1 = result.fields["t1"]
    assert (t1.total, t1.exact, t1.empty, t1.wrong, t1.wrong_unflagged) == (12, 8, 4, 0, 0)
    assert {c.file for c in result.confusions} == {"0113.jpg", "0114.jpg", "0115.jpg", "0116.jpg"}


def test_naive_reader_reads_the_clean_frames(heating_run: SimulatedRun, ocr_cache: Path) -> None:
    from monitor.evaluation.naive_ocr import build_naive_reader

    config = parse_config({}, env={})
    naive = build_naive_reader(config.overlay, config.ocr, cache=ocr_cache)
    rows = digitize(list_frames(heating_run.out)[:5], naive, progress=False)
    truth = {f.file: f for f in heating_run.frames}
    assert [r.value("t1") for r in rows] == [truth[r.file].t1_c for r in rows]
