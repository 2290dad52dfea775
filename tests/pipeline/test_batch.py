"""analyze end to end: the output files and report, the real reference series, and the five-run sweep."""

import csv
import json
from pathlib import Path

import numpy as np
import pytest

from monitor.analytics.outputs import FEATURE_COLUMNS, write_outputs
from monitor.analytics.result import AnalysisResult
from monitor.cli import main
from monitor.config import parse_config
from monitor.evaluation.analytics_sweep import TOLERANCE_S
from monitor.ingest.loader import list_frames
from monitor.pipeline.batch import analyze_frames
from monitor.pipeline.process import build_processor
from monitor.records import EventType, Flag, FlagKind, ProgressBasis, read_events
from monitor.simulate import SimulatedRun
from tests.conftest import SHARED_DATA


@pytest.fixture(scope="module")
def analysed(reference_run: SimulatedRun) -> AnalysisResult:
    config = parse_config({}, env={})
    return analyze_frames(
        list_frames(reference_run.out), build_processor(config), run="reference", progress=False
    )


def test_outputs_hold_the_numbers_of_events_json(analysed: AnalysisResult, tmp_path: Path) -> None:
    paths = write_outputs(tmp_path, analysed)
    for name in ("features", "events", "mean", "mean_diff", "channels", "temperatures", "fraction", "report"):
        assert paths[name].is_file() and paths[name].stat().st_size > 0, name
    events = read_events(paths["events"])
    assert events == analysed.events and len(events) == 5
    html = paths["report"].read_text(encoding="utf-8")
    for event in events:
        assert f"{event.time_s:.0f}" in html and f"{event.t1_c:.0f}" in html and str(event.type) in html
    doc = json.loads(paths["events"].read_text(encoding="utf-8"))
    assert doc["summary"]["unreliable_thermocouples"] == ["2#"]
    assert doc["summary"]["melting_temperature_c"] == next(
        e.t1_c for e in events if e.type is EventType.MELTING_COMPLETE
    )
    with paths["features"].open(encoding="utf-8") as f:
        rows = list(csv.DictReader(f))
    assert tuple(rows[0]) == FEATURE_COLUMNS and len(rows) == 562


def test_summary_matches_the_simulated_truth(analysed: AnalysisResult, reference_run: SimulatedRun) -> None:
    s = analysed.summary
    truth = {e.type: e for e in read_events(reference_run.out / "events.json")}
    assert s.melting_temperature_c == truth[EventType.MELTING_COMPLETE].t1_c
    assert s.crystallization_temperature_c == truth[EventType.CRYSTALLIZATION_START].t1_c
    assert (
        s.incubation_s
        == truth[EventType.CRYSTALLIZATION_START].time_s - reference_run.timeline.cooling_start_s
    )
    assert s.avrami is not None and s.avrami.n == pytest.approx(reference_run.timeline.kinetics.n, abs=0.3)
    assert analysed.correlation["1#"]["1#"] == pytest.approx(1.0)
    assert abs(analysed.correlation["1#"]["2#"]) < 0.3


def test_live_progress_follows_the_truth_without_any_model(
    analysed: AnalysisResult, reference_run: SimulatedRun
) -> None:
    """The progress the pipeline publishes, from the run's history alone: 0 % until the melt cools, the
    kinetics of the fraction while crystallizing, 100 % once solid; within 3 pp of the true i/N over the
    run. While crystallizing it is within 6 pp: the textured share it is fitted on runs ahead of the area
    fraction in mid-growth (a window with a little crystal in it counts as textured)."""
    with (reference_run.out / "truth.csv").open(encoding="utf-8") as f:
        truth = {row["file"]: row for row in csv.DictReader(f)}
    by_basis: dict[ProgressBasis | None, list[tuple[str, float, float | None]]] = {}
    for file, estimate in zip(analysed.files, analysed.progress_live, strict=True):
        row = truth[file]
        value = None if estimate is None else estimate.pct
        by_basis.setdefault(None if estimate is None else estimate.basis, []).append(
            (row["stage"], float(row["progress_pct"]), value)
        )
    stage_known = by_basis[ProgressBasis.STAGE]
    assert {s for s, _, _ in stage_known} == {"heating", "melting", "molten", "cooling", "solid"}
    assert all(v == p for _, p, v in stage_known)
    kinetics = by_basis[ProgressBasis.KINETICS]
    # and the solid frames before the detector confirms the end (it waits for the plateau)
    assert {s for s, _, _ in kinetics} == {"crystallizing", "solid"} and len(kinetics) > 50
    assert np.mean([abs(v - p) for _, p, v in kinetics if v is not None]) < 6.0
    known = [abs(v - p) for rows in by_basis.values() for _, p, v in rows if v is not None]
    assert np.mean(known) < 3.0
    # unknown without a model: the cooling frames and the first seconds of growth, before a fit
    assert {s for s, _, _ in by_basis[None]} <= {"cooling", "crystallizing"}
    assert ProgressBasis.IMAGE not in by_basis


def test_the_default_camera_passes_the_sweep_targets(
    analysed: AnalysisResult, reference_run: SimulatedRun
) -> None:
    """The default camera (auto exposure with glints) on the reference programme, through the whole pipeline
    (OCR included), scored as the sweep scores a run: every true event within its tolerance, nothing false,
    2# named. The analysis is the module's (the sweep's auto-exposure/reference run is this run, 7 s
    shorter)."""
    truth = {e.type: e.time_s for e in read_events(reference_run.out / "events.json")}
    found = {e.type: e.time_s for e in analysed.events}
    assert set(found) == set(truth)  # nothing missed, nothing false
    for kind, time_s in found.items():
        assert abs(time_s - truth[kind]) <= TOLERANCE_S.get(kind, float("inf")), kind
    assert [h.name for h in analysed.health if not h.reliable] == ["2#"]


def test_a_recording_begun_after_fully_molten_still_alerts_below_the_configured_liquidus(
    reference_run: SimulatedRun,
) -> None:
    """The reference run's frames from 210 s on (fully molten at 192 s), through the whole pipeline with
    the flux's liquidus configured (the simulated flux clears at 1368 degC): the heating events are given up
    with the reason, and both crystallization events come within their tolerance, the start with its
    liquidus evidence. Before, such a run reported no event at all."""
    config = parse_config({"analytics": {"liquidus_c": 1368.0}}, env={})
    paths = [p for p in list_frames(reference_run.out) if int(p.stem) >= 210]
    result = analyze_frames(paths, build_processor(config), run="late", progress=False)
    truth = {e.type: e.time_s for e in read_events(reference_run.out / "events.json")}
    found = {e.type: e.time_s for e in result.events}
    assert list(found) == [EventType.CRYSTALLIZATION_START, EventType.CRYSTALLIZATION_END]
    for kind, time_s in found.items():
        assert abs(time_s - truth[kind]) <= TOLERANCE_S[kind], kind
    start = result.events[0]
    assert any(e.signal == "1# below the configured liquidus" and e.value < 1368.0 for e in start.evidence)
    why = {m.type: m.reason for m in result.missed}
    assert all("hold" in why[k] for k in (EventType.MELTING_START, EventType.FULLY_MOLTEN))


def test_evaluate_analytics_camera_sweep(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """Every camera option at once (auto exposure, gain and white balance, a soft and noisy lens, flicker
    with dropped seconds, another rig's aim and scale, a smooth crystallization end) on the reference
    programme, through the `evaluate-analytics` command and the whole pipeline (OCR included): every event
    within its tolerance, nothing false, 2# named. The default camera is scored on the module's analysis
    above (one simulated run and one analysis less). The full sweep (ten cameras x five programmes) is the
    command without --variants/--scenarios; its table is in docs/analytics.md."""
    variants = ["everything"]
    args = ["evaluate-analytics", str(tmp_path), "--variants", *variants, "--scenarios", "reference", "-q"]
    assert main(args) == 0
    printed = capsys.readouterr().out
    assert "1/1 runs within the targets" in printed
    doc = json.loads((tmp_path / "sweep.json").read_text(encoding="utf-8"))
    assert [(s["variant"], s["scenario"]) for s in doc] == [("everything", "reference")]
    assert all(s["passed"] and not s["false_events"] and s["unreliable"] == ["2#"] for s in doc)


def test_evaluate_analytics_names_an_unknown_variant(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    assert main(["evaluate-analytics", str(tmp_path), "--variants", "pinhole", "-q"]) == 2
    err = capsys.readouterr().err
    assert "unknown variant pinhole; known: fixed-exposure, auto-exposure" in err
    assert "slow-settle, narrow-ae, dim-gain, long-glints, heavy-blur" in err  # the probe cameras, by name


def test_analyze_cli_on_a_table(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    args = ["analyze", "--features", str(SHARED_DATA / "frame_channel_means.csv"), "--temperatures",
            str(SHARED_DATA / "ocr_temperatures.csv"), "-o", str(tmp_path)]  # fmt: skip
    assert main(args) == 0
    printed = capsys.readouterr().out
    assert "melting_complete" in printed and "thermocouple 2#: UNRELIABLE" in printed
    assert (tmp_path / "report.html").is_file()


def test_camera_flags_land_on_their_frames_past_a_broken_one(
    reference_run: SimulatedRun, tmp_path: Path
) -> None:
    """A truncated frame is not seen by the camera tracker; the exposure step after it must still be flagged
    on its own files (the auto exposure's ramp of the reference run), not shifted by one."""
    with (reference_run.out / "truth.csv").open(encoding="utf-8") as f:
        stepped = {r["file"] for r in csv.DictReader(f) if r["exposure_step"] == "1"}
    paths = [reference_run.out / f"{t:04d}.jpg" for t in range(395, 430)]
    assert stepped & {p.name for p in paths[10:]}, "the reference run's ramp lies in this window"
    broken = tmp_path / "0400.jpg"
    broken.write_bytes(paths[5].read_bytes()[:2000])
    paths[5] = broken
    result = analyze_frames(paths, build_processor(parse_config({}, env={})), run="r", progress=False)
    step = Flag(FlagKind.EXPOSURE_STEP)
    flagged = {f for f, flags in zip(result.files, result.flags, strict=True) if step in flags}
    assert flagged and flagged <= stepped
