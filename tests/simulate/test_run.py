"""A written run: determinism, truth consistency, overlay text, calibration against the real series."""

import csv
import hashlib
import json
from pathlib import Path

import cv2
import numpy as np
import pytest

from monitor.records import EventType, Stage, read_events
from monitor.simulate import TRUTH_COLUMNS, SimulatedRun, SimulationOptions, simulate
from monitor.simulate.overlay import OverlayPainter, OverlayStyle, overlay_lines
from tests.conftest import SHARED_DATA


def digest(folder: Path) -> dict[str, str]:
    return {p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in sorted(folder.iterdir())}


def read_truth(folder: Path) -> list[dict[str, str]]:
    with (folder / "truth.csv").open(encoding="utf-8") as f:
        return list(csv.DictReader(f))


def test_same_seed_same_bytes(tmp_path: Path, short_options: SimulationOptions) -> None:
    simulate(tmp_path / "a", short_options, progress=False)
    parallel = short_options.model_copy(update={"workers": 2})
    simulate(tmp_path / "b", parallel, progress=False)
    assert digest(tmp_path / "a") == digest(tmp_path / "b")


def test_another_seed_another_run(tmp_path: Path, short_options: SimulationOptions) -> None:
    simulate(tmp_path / "a", short_options, progress=False)
    simulate(tmp_path / "b", short_options.model_copy(update={"seed": 4}), progress=False)
    a, b = digest(tmp_path / "a"), digest(tmp_path / "b")
    assert a.keys() == b.keys()
    assert a["0545.jpg"] != b["0545.jpg"]


def test_slow_writes_give_the_same_frames(tmp_path: Path, short_options: SimulationOptions) -> None:
    options = short_options.model_copy(update={"seconds": 3})
    simulate(tmp_path / "atomic", options, progress=False)
    simulate(tmp_path / "slow", options.model_copy(update={"slow_writes": True}), progress=False)
    assert digest(tmp_path / "atomic") == digest(tmp_path / "slow")


def test_no_temp_files_are_left(tmp_path: Path, short_options: SimulationOptions) -> None:
    simulate(tmp_path, short_options, progress=False)
    names = sorted(p.name for p in tmp_path.iterdir())
    assert names == [f"{t:04d}.jpg" for t in range(540, 552)] + ["events.json", "truth.csv"]


def test_size_and_quality_options(tmp_path: Path, short_options: SimulationOptions) -> None:
    small = short_options.model_copy(update={"seconds": 1, "width": 400, "height": 300, "jpeg_quality": 40})
    fine = small.model_copy(update={"jpeg_quality": 95})
    simulate(tmp_path / "q40", small, progress=False)
    simulate(tmp_path / "q95", fine, progress=False)
    image = cv2.imread(str(tmp_path / "q40" / "0540.jpg"))
    assert image.shape == (300, 400, 3)
    assert (tmp_path / "q40" / "0540.jpg").stat().st_size < (tmp_path / "q95" / "0540.jpg").stat().st_size


def test_truth_rows_match_the_frames(reference_run: SimulatedRun) -> None:
    rows = read_truth(reference_run.out)
    assert tuple(rows[0]) == TRUTH_COLUMNS
    assert len(rows) == 562
    assert [int(r["time_s"]) for r in rows] == list(range(110, 672))
    for row in rows:
        assert row["file"] == f"{int(row['time_s']):04d}.jpg"
        assert (reference_run.out / row["file"]).is_file()


def test_truth_is_consistent_with_events(reference_run: SimulatedRun) -> None:
    rows = read_truth(reference_run.out)
    events = {e.type: e for e in read_events(reference_run.out / "events.json")}
    assert list(events) == list(EventType)
    by_time = {float(r["time_s"]): r for r in rows}
    for event in events.values():
        row = by_time[event.time_s]
        assert row["file"] == event.file
        assert float(row["t1_c"]) == event.t1_c
    stages = [Stage(r["stage"]) for r in rows]
    order = list(Stage)
    assert [order.index(s) for s in stages] == sorted(order.index(s) for s in stages)
    start = events[EventType.CRYSTALLIZATION_START].time_s
    end = events[EventType.CRYSTALLIZATION_END].time_s
    for row in rows:
        t, frac, prog = float(row["time_s"]), float(row["crystal_fraction"]), float(row["progress_pct"])
        if t < start:
            assert frac == 0 and prog == 0 and row["stage"] != "crystallizing"
        elif t >= end:
            assert prog == 100 and row["stage"] == "solid"
        else:
            assert row["stage"] == "crystallizing" and 0 <= prog < 100
    doc = json.loads((reference_run.out / "events.json").read_text(encoding="utf-8"))
    assert doc["avrami"]["n"] > 0 and doc["avrami"]["k"] > 0
    assert doc["camera"] == SimulationOptions().camera.model_dump(mode="json")
    box = doc["sample_box"]
    assert tuple(box[k] for k in ("x", "y", "width", "height")) == reference_run.sample_box
    assert box["x"] < 512 < box["x"] + box["width"] and box["y"] < 422 < box["y"] + box["height"]


def test_default_camera_steps_its_exposure_while_cooling(reference_run: SimulatedRun) -> None:
    """The default camera is the real one: auto exposure steps up several times while cooling, only then."""
    rows = read_truth(reference_run.out)
    flags = [r["exposure_step"] == "1" for r in rows]
    steps = [int(r["time_s"]) for r, flag in zip(rows, flags, strict=True) if flag]
    starts = [
        int(r["time_s"])
        for r, flag, before in zip(rows, flags, [False, *flags], strict=False)
        if flag and not before
    ]
    assert steps and min(steps) > reference_run.timeline.cooling_start_s
    assert 6 <= len(starts) <= 10  # each step ramps over a few frames
    assert float(rows[-1]["gain"]) > 3


def test_t2_is_the_unreliable_thermocouple(reference_run: SimulatedRun) -> None:
    t1 = np.array([f.t1_c for f in reference_run.frames], float)
    t2 = np.array([f.t2_c for f in reference_run.frames], float)
    assert np.median(t2) == pytest.approx(1145, abs=4)
    assert t2.max() > 1300 and t2.max() <= 1480
    assert abs(np.corrcoef(t1, t2)[0, 1]) < 0.3
    assert np.abs(np.diff(t2)).max() > 40 > np.abs(np.diff(t1)).max()


def overlay_error(crop: np.ndarray, lines: tuple[str, str, str], painter: OverlayPainter) -> float:
    """Largest mean absolute difference, over any 8-px-wide window of any line, between the crop and a
    rendering of `lines` (one wrong glyph is local, so it is judged locally)."""
    reference = np.zeros_like(crop)
    painter.paint(reference, lines)
    diff = np.abs(crop.astype(float) - reference.astype(float)).mean(axis=2)
    pitch = painter.style.line_px
    window = np.ones(8) / 8
    return max(
        float(np.convolve(diff[i * pitch : (i + 1) * pitch].mean(axis=0), window, mode="valid").max())
        for i in range(3)
    )


def test_overlay_text_equals_the_truth(reference_run: SimulatedRun) -> None:
    """The burned-in text matches a rendering of the truth's values far better than any near miss."""
    painter = OverlayPainter(OverlayStyle())
    x, y, w, h = painter.style.box()
    for frame in reference_run.frames[::37]:
        crop = cv2.imread(str(reference_run.out / frame.file))[y : y + h, x : x + w]
        truth = overlay_lines(frame.time_s, frame.t1_c, frame.t2_c)
        right = overlay_error(crop, truth, painter)
        near_misses = [
            overlay_lines(frame.time_s + 1, frame.t1_c, frame.t2_c),
            overlay_lines(frame.time_s, frame.t1_c + 1, frame.t2_c),
            overlay_lines(frame.time_s, frame.t1_c, frame.t2_c - 1),
            overlay_lines(frame.time_s, frame.t1_c * 10 + 8, frame.t2_c),
        ]
        assert right < 6.0, frame.file
        assert all(overlay_error(crop, miss, painter) > 2 * right for miss in near_misses), frame.file


def test_overlay_lines_grammar() -> None:
    assert overlay_lines(110, 900, 1142) == ("[110]", "1#丝900℃", "2#丝1142℃")


def test_colour_calibration_against_the_real_run(reference_run: SimulatedRun) -> None:
    """Each whole-frame channel mean over 110..671 s correlates with the real series at r >= 0.8."""
    with (SHARED_DATA / "frame_channel_means.csv").open(encoding="utf-8") as f:
        real = {int(r["Time"]): r for r in csv.DictReader(f)}
    times = [f.time_s for f in reference_run.frames]
    assert times == sorted(real)
    sim = np.array(
        [cv2.imread(str(reference_run.out / f.file)).reshape(-1, 3).mean(0) for f in reference_run.frames]
    )
    for channel, name in enumerate(("meanB", "meanG", "meanR")):
        measured = np.array([float(real[t][name]) for t in times])
        r = np.corrcoef(sim[:, channel], measured)[0, 1]
        assert r >= 0.8, f"{name}: r = {r:.3f}"


def test_stages_look_different(reference_run: SimulatedRun) -> None:
    """Mean colour of the middle frame of each stage: every pair differs clearly."""
    frames: dict[Stage, list] = {}
    for frame, stage in zip(reference_run.frames, reference_run.timeline.stage, strict=True):
        frames.setdefault(stage, []).append(frame)
    assert set(frames) == set(Stage)
    first = {stage: group[len(group) // 2] for stage, group in frames.items()}
    means = {
        s: cv2.imread(str(reference_run.out / f.file))[200:600, 300:724].reshape(-1, 3).mean(0)
        for s, f in first.items()
    }
    stages = list(means)
    for i, a in enumerate(stages):
        for b in stages[i + 1 :]:
            assert np.abs(means[a] - means[b]).max() > 3, (a, b)


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"seconds": 0}, "greater than or equal to 1"),
        ({"start": 9990, "seconds": 20}, "limited to 9999 s"),
        ({"overlay": {"offset": (1000, 0)}}, "does not fit"),
        ({"jpeg_quality": 101}, "less than or equal to 100"),
        ({"colour": "red"}, "Extra inputs"),
    ],
)
def test_bad_options_are_refused(changes: dict, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        SimulationOptions.model_validate(changes)
