"""Run plots and the HTML report, from a hand-built analysis result."""

import itertools
import math
import re
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest

from monitor.analytics.result import AnalysisResult, RunSummary
from monitor.records import (
    AvramiFit,
    EventType,
    Features,
    ProgressBasis,
    ProgressEstimate,
    Stage,
    StageEvent,
    ThermocoupleHealth,
)
from monitor.report.html import fmt_value, write_report
from monitor.report.run_plots import avrami_curve, feature_series, gapped, stage_spans, write_plots

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"
PLOT_NAMES = {"mean", "mean_diff", "channels", "temperatures", "fraction"}
START, FRAMES = 100, 200
NONE_FEATURES = {20, 21, 120}
NONE_T1 = {5, 60, 61}
NONE_T2 = {7, 150}
EVENTS = [
    StageEvent(EventType.MELTING_START, 140.0, "0140.jpg", 1180.0),
    StageEvent(EventType.MELTING_COMPLETE, 160.0, "0160.jpg", 1245.0),
    StageEvent(EventType.FULLY_MOLTEN, 175.5, "0175.jpg", 1262.5),
    StageEvent(EventType.CRYSTALLIZATION_START, 230.0, "0230.jpg", 1105.0),
    StageEvent(EventType.CRYSTALLIZATION_END, 270.0, "0270.jpg", 1012.0),
]
HEALTH = [
    ThermocoupleHealth("1#", 0.93, True, (), 0.87, 0.0, 0.01),
    ThermocoupleHealth(
        "2#", 0.31, False, ("jumps <b>& spikes", "stuck while the image moved"), None, 0.12, 0.4
    ),
]
CORRELATION: dict[str, dict[str, float | None]] = {
    "1#": {"1#": 1.0, "2#": 0.4123, "mean": 0.8765, "probe_sum": 0.5432},
    "2#": {"1#": 0.4123, "2#": 1.0, "mean": None, "probe_sum": -0.2468},
    "mean": {"1#": 0.8765, "2#": None, "mean": 1.0, "probe_sum": 0.9136},
    "probe_sum": {"1#": 0.5432, "2#": -0.2468, "mean": 0.9136, "probe_sum": 1.0},
}
FIT = AvramiFit(n=2.3141, k=0.000123, r2=0.9871)
SUMMARY = RunSummary(
    melting_temperature_c=1245.0,
    crystallization_temperature_c=1105.0,
    cooling_start_s=200.0,
    incubation_s=30.0,
    avrami=FIT,
)


def _mean(t: float) -> float:
    """Slow heating, the melting flash around 150 s, a bright melt, the crystallization drop after 230 s."""
    base = 80.0 + 0.25 * (t - START)
    flash = 60.0 * math.exp(-(((t - 150.0) / 6.0) ** 2))
    drop = 70.0 / (1.0 + math.exp(-(t - 245.0) / 6.0))
    return base + flash - drop


def _features(t: float, previous: float) -> Features:
    m = _mean(t)
    return Features(
        mean=m,
        mean_b=0.7 * m,
        mean_g=0.95 * m,
        mean_r=1.35 * m,
        probes=((0.7 * m, 0.95 * m, 1.35 * m),),
        change=abs(m - previous) if previous else math.nan,
        texture=4.0 + 0.02 * m,
        textured_share=min(1.0, max(0.0, (t - 230.0) / 40.0)),
    )


def _stage(t: float) -> Stage:
    bounds = [(140, Stage.HEATING), (160, Stage.MELTING), (200, Stage.MOLTEN), (230, Stage.COOLING)]
    bounds += [(270, Stage.CRYSTALLIZING)]
    return next((stage for end, stage in bounds if t < end), Stage.SOLID)


def _fraction(t: float) -> float:
    return 0.0 if t < 230 else 1.0 - math.exp(-FIT.k * (t - 230.0) ** FIT.n)


def _temperature(t: float, offset: float) -> float:
    return float(round(1100.0 + 1.6 * (t - START) - (3.0 * (t - 200.0) if t > 200 else 0.0) + offset))


def make_result(run: str = "run <A&B>") -> AnalysisResult:
    times = [float(START + i) for i in range(FRAMES)]
    features: list[Features | None] = []
    previous = 0.0
    for i, t in enumerate(times):
        features.append(None if i in NONE_FEATURES else _features(t, previous))
        previous = _mean(t)
    flags = [[] for _ in times]
    for i in range(0, FRAMES, 7):
        flags[i] = [f"t1: unreadable <{i}>"]
    return AnalysisResult(
        run=run,
        times=times,
        files=[f"{int(t):04d}.jpg" for t in times],
        features=features,
        t1=[None if i in NONE_T1 else _temperature(t, 0.0) for i, t in enumerate(times)],
        t2=[None if i in NONE_T2 else _temperature(t, -25.0) for i, t in enumerate(times)],
        stages=[_stage(t) for t in times],
        events=list(EVENTS),
        fraction_image=[None if i % 37 == 0 else _fraction(t) for i, t in enumerate(times)],
        progress_pct=[min(100.0, max(0.0, (t - 140.0) / 130.0 * 100.0)) for t in times],
        # as published live: certain from the stage, the kinetics' estimate, unknown in between
        progress_live=[_live(t) for t in times],
        health=list(HEALTH),
        correlation=CORRELATION,
        summary=SUMMARY,
        flags=flags,
    )


def _live(t: float) -> ProgressEstimate | None:
    if t < 140.0:
        return ProgressEstimate(0.0, ProgressBasis.STAGE)
    if t < 150.0:
        return None
    return ProgressEstimate(min(100.0, (t - 138.0) / 130.0 * 100.0), ProgressBasis.KINETICS)


@pytest.fixture(scope="module")
def result() -> AnalysisResult:
    return make_result()


@pytest.fixture(scope="module")
def written(result: AnalysisResult, tmp_path_factory: pytest.TempPathFactory) -> tuple[dict[str, Path], str]:
    folder = tmp_path_factory.mktemp("report")
    plots = write_plots(result, folder / "plots")
    report = write_report(result, folder, plots)
    assert report == folder / "report.html"
    return plots, report.read_text(encoding="utf-8")


# --- plots ------------------------------------------------------------------------------------------------


def test_every_plot_is_a_real_png(written: tuple[dict[str, Path], str]) -> None:
    plots, _ = written
    assert set(plots) == PLOT_NAMES
    for name, path in plots.items():
        assert path.name == f"{name}.png"
        data = path.read_bytes()
        assert data[:8] == PNG_MAGIC, name
        assert len(data) > 5_000, name
        width, height = int.from_bytes(data[16:20], "big"), int.from_bytes(data[20:24], "big")
        assert 800 <= width <= 1000 and 400 <= height <= 500, (name, width, height)


def test_missing_values_are_gaps_not_zeros(result: AnalysisResult) -> None:
    values = gapped([1.0, None, 3.0])
    assert values[0] == 1.0 and math.isnan(values[1]) and values[2] == 3.0
    means = feature_series(result.features, "mean")
    assert len(means) == FRAMES
    assert {int(i) for i in np.flatnonzero(np.isnan(means))} == NONE_FEATURES
    assert not np.any(means[~np.isnan(means)] == 0.0)


def test_stage_spans_cover_the_run(result: AnalysisResult) -> None:
    spans = stage_spans(result.times, result.stages)
    assert [s for s, _, _ in spans] == list(Stage)
    assert spans[0][1] == START and spans[-1][2] == START + FRAMES - 1
    assert all(a[2] == b[1] for a, b in itertools.pairwise(spans))
    assert spans[1] == (Stage.MELTING, 140.0, 160.0)


def test_avrami_curve_starts_at_zero_and_rises() -> None:
    t, x = avrami_curve(FIT, 230.0, 299.0)
    assert t[0] == 230.0 and x[0] == 0.0
    assert np.all(np.diff(x) >= 0) and 0.0 < x[-1] < 1.0


# --- report -----------------------------------------------------------------------------------------------


def test_report_is_self_contained(written: tuple[dict[str, Path], str]) -> None:
    plots, html = written
    for forbidden in ("http://", "https://", 'src="file', "<link", "<script"):
        assert forbidden not in html
    assert html.count('<img src="data:image/png;base64,') == len(plots) == len(PLOT_NAMES)
    assert len(re.findall(r"<img ", html)) == len(plots)


def test_report_title_escapes_the_run_name(written: tuple[dict[str, Path], str]) -> None:
    _, html = written
    assert "<title>Furnace run report: run &lt;A&amp;B&gt;</title>" in html
    assert "run <A&B>" not in html


def test_report_lists_every_event_exactly(written: tuple[dict[str, Path], str]) -> None:
    _, html = written
    for event in EVENTS:
        time, t1 = fmt_value(event.time_s), fmt_value(event.t1_c)
        row = (
            f'<tr><td>{event.type}</td><td class="num">{time}</td><td>{event.file}</td>'
            f'<td class="num">{t1}</td><td class="num">1.00</td>'
        )
        assert row in html, row
    assert ">175.5<" in html and ">1262.5<" in html and ">140<" in html and ">1180<" in html
    assert "140.0" not in html and "1180.0" not in html


def test_value_formatting() -> None:
    assert fmt_value(140.0) == "140"
    assert fmt_value(175.5) == "175.5"
    assert fmt_value(None) == "—"
    assert fmt_value(math.nan) == "—"


def test_report_summary(written: tuple[dict[str, Path], str]) -> None:
    _, html = written
    rows = {"melting_complete, °C)": "1245", "crystallization_start, °C)": "1105", "cooling start (s)": "200"}
    rows |= {"incubation time (s)": "30", "Avrami n": "2.314", "Avrami k": "0.000123", "Avrami r²": "0.987"}
    for label, value in rows.items():
        assert f'{label}</td><td class="num">{value}</td></tr>' in html, label


def test_report_health(written: tuple[dict[str, Path], str]) -> None:
    _, html = written
    assert '<td>1#</td><td>yes</td><td class="num">0.93</td><td>—</td>' in html
    assert '<td>2#</td><td>no</td><td class="num">0.31</td>' in html
    assert "jumps &lt;b&gt;&amp; spikes; stuck while the image moved" in html
    assert "<b>&" not in html


def test_report_correlation(written: tuple[dict[str, Path], str]) -> None:
    _, html = written
    for value in ("1.000", "0.412", "0.876", "0.543", "-0.247", "0.914"):
        assert f'<td class="num">{value}</td>' in html, value
    assert "<tr><th>2#</th>" in html
    assert '<tr><th>2#</th><td class="num">0.412</td><td class="num">1.000</td><td class="num">—</td>' in html


def test_report_flagged_frames(written: tuple[dict[str, Path], str], result: AnalysisResult) -> None:
    _, html = written
    flagged = [i for i, f in enumerate(result.flags) if f]
    assert f"<p>{len(flagged)} of {FRAMES} frames flagged (the first 20 listed).</p>" in html
    assert "t1: unreadable &lt;133&gt;" in html  # the 20th flagged frame
    assert "t1: unreadable &lt;140&gt;" not in html  # the 21st is only counted
    assert html.count("t1: unreadable") == 20


def test_report_without_events_or_fit(tmp_path: Path) -> None:
    empty = RunSummary(None, None, None, None, None)
    result = replace(make_result("bare"), events=[], summary=empty, health=[], correlation={}, flags=[])
    plots = write_plots(result, tmp_path)
    html = write_report(result, tmp_path, plots).read_text(encoding="utf-8")
    assert set(plots) == PLOT_NAMES and all(p.read_bytes()[:8] == PNG_MAGIC for p in plots.values())
    assert html.count('<td class="num">—</td>') >= 7
    assert "Avrami n" in html and "0 events" in html and "0 of 200 frames flagged" in html


def test_fit_without_crystallization_start_still_plots(tmp_path: Path) -> None:
    result = replace(make_result(), events=EVENTS[:2])
    plots = write_plots(result, tmp_path)
    assert plots["fraction"].read_bytes()[:8] == PNG_MAGIC


def test_report_of_a_run_without_frames(tmp_path: Path) -> None:
    lists = (
        "times", "files", "features", "t1", "t2", "stages", "fraction_image", "progress_pct", "progress_live",
        "flags",
    )  # fmt: skip
    result = replace(make_result("empty"), **{name: [] for name in lists})
    plots = write_plots(result, tmp_path / "plots")
    html = write_report(result, tmp_path, plots).read_text(encoding="utf-8")
    assert "0 frames" in html and html.count("data:image/png;base64,") == len(PLOT_NAMES)
