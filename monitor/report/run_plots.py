"""The plots of an analysed run, written as small PNG files (matplotlib, no display needed)."""

import math
import warnings
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import cv2
import matplotlib.pyplot as plt
import numpy as np
from matplotlib.axes import Axes

from monitor.analytics.locate import SampleFinding
from monitor.analytics.result import AnalysisResult
from monitor.records import AvramiFit, EventType, Features, Stage, StageEvent
from monitor.report.plots import plot_temperatures

FIGSIZE = (9.0, 4.5)
DPI = 100  # 900 x 450 px
EVENT_COLOUR = "tab:purple"
STAGE_COLOURS: dict[Stage, str] = {
    Stage.HEATING: "tab:orange",
    Stage.MELTING: "tab:red",
    Stage.MOLTEN: "gold",
    Stage.COOLING: "tab:cyan",
    Stage.CRYSTALLIZING: "tab:blue",
    Stage.SOLID: "tab:gray",
}


def gapped(values: Sequence[float | None]) -> np.ndarray:
    """The values as a float array with NaN where missing: matplotlib leaves a gap there, never a zero."""
    return np.array([math.nan if v is None else float(v) for v in values], dtype=float)


def feature_series(features: Sequence[Features | None], name: str) -> np.ndarray:
    """One attribute of every frame's features (NaN where the frame has none)."""
    return gapped([None if f is None else float(getattr(f, name)) for f in features])


def stage_spans(times: Sequence[float], stages: Sequence[Stage]) -> list[tuple[Stage, float, float]]:
    """Runs of equal stage as (stage, start time, end time); a run ends where the next one starts."""
    count = min(len(times), len(stages))
    spans: list[tuple[Stage, float, float]] = []
    start = 0
    for i in range(1, count + 1):
        if i == count or stages[i] != stages[start]:
            end = times[i] if i < count else times[count - 1]
            spans.append((stages[start], float(times[start]), float(end)))
            start = i
    return spans


def avrami_curve(fit: AvramiFit, t_start: float, t_end: float, points: int = 200) -> tuple[np.ndarray, ...]:
    """Times and the fitted fraction X = 1 - exp(-k (t - t_start)^n) from t_start to t_end."""
    t = np.linspace(t_start, t_end, points)
    return t, 1.0 - np.exp(-fit.k * (t - t_start) ** fit.n)


@contextmanager
def _figure(path: Path, title: str, ylabel: str) -> Iterator[Axes]:
    """One figure on one axes; saved to path (with a legend when something is labelled) and closed."""
    fig, ax = plt.subplots(figsize=FIGSIZE, dpi=DPI)
    try:
        ax.set_title(title)
        ax.set_xlabel("time (s)")
        ax.set_ylabel(ylabel)
        ax.grid(alpha=0.3)
        yield ax
        if ax.get_legend_handles_labels()[0]:
            ax.legend(loc="best", fontsize=8)
        fig.tight_layout()
        path.parent.mkdir(parents=True, exist_ok=True)
        fig.savefig(path)
    finally:
        plt.close(fig)


def _mark_events(ax: Axes, events: Sequence[StageEvent]) -> None:
    """A dashed vertical line per event, labelled with its type and time along the line."""
    for event in events:
        ax.axvline(event.time_s, color=EVENT_COLOUR, linestyle="--", linewidth=0.9, alpha=0.8)
        ax.text(
            event.time_s,
            0.98,
            f"{event.type} {event.time_s:g} s",
            transform=ax.get_xaxis_transform(),
            rotation=90,
            ha="right",
            va="top",
            fontsize=7,
            color=EVENT_COLOUR,
        )


def _shade_stages(ax: Axes, times: Sequence[float], stages: Sequence[Stage]) -> None:
    """A light band per stage run, named at the bottom of the band."""
    for stage, start, end in stage_spans(times, stages):
        ax.axvspan(start, end, color=STAGE_COLOURS.get(stage, "tab:gray"), alpha=0.08, linewidth=0)
        ax.text(
            (start + end) / 2,
            0.02,
            str(stage),
            transform=ax.get_xaxis_transform(),
            ha="center",
            va="bottom",
            fontsize=7,
            alpha=0.7,
        )


def _times(result: AnalysisResult) -> np.ndarray:
    return np.asarray(result.times, dtype=float)


def _plot_mean(result: AnalysisResult, path: Path) -> None:
    with _figure(
        path, f"Whole-frame mean E(A) with the detected events: {result.run}", "mean (grey level)"
    ) as ax:
        _shade_stages(ax, result.times, result.stages)
        ax.plot(_times(result), feature_series(result.features, "mean"), color="black", linewidth=1.2)
        _mark_events(ax, result.events)


def _plot_mean_diff(result: AnalysisResult, path: Path) -> None:
    with _figure(path, "First difference of the whole-frame mean", "Δ mean (grey level per frame)") as ax:
        diff = np.diff(feature_series(result.features, "mean"))
        ax.plot(_times(result)[1:], diff, color="tab:brown", linewidth=1.0)
        ax.axhline(0.0, color="black", linewidth=0.6)
        _mark_events(ax, result.events)


def _plot_channels(result: AnalysisResult, path: Path) -> None:
    with _figure(path, "Whole-frame channel means", "mean (grey level)") as ax:
        x = _times(result)
        for name, colour in (("mean_b", "blue"), ("mean_g", "green"), ("mean_r", "red")):
            ax.plot(
                x, feature_series(result.features, name), color=colour, linewidth=1.1, label=name[-1].upper()
            )


def _plot_temperatures(result: AnalysisResult, path: Path) -> None:
    times: list[float | None] = list(result.times)
    with warnings.catch_warnings():  # a run without any temperature read has nothing to put in the legend
        warnings.filterwarnings("ignore", "No artists with labels", UserWarning)
        plot_temperatures(times, result.t1, result.t2, path)


def _crystallization_start(events: Sequence[StageEvent]) -> float | None:
    return next((e.time_s for e in events if e.type == EventType.CRYSTALLIZATION_START), None)


def _plot_fraction(result: AnalysisResult, path: Path) -> None:
    with _figure(path, "Crystallized fraction", "fraction (%)") as ax:
        x = _times(result)
        ax.plot(x, 100.0 * gapped(result.fraction_image), color="tab:green", label="image fraction")
        ax.plot(x, gapped(result.progress_pct), color="tab:gray", linestyle=":", label="progress (events)")
        if any(p is not None for p in result.progress_live):
            live = [None if p is None else p.pct for p in result.progress_live]
            ax.plot(x, gapped(live), color="tab:orange", linewidth=1.0, label="progress as published live")
        fit, t_cs = result.summary.avrami, _crystallization_start(result.events)
        if fit is not None and t_cs is not None and len(x) and float(np.max(x)) > t_cs:
            t, fraction = avrami_curve(fit, t_cs, float(np.max(x)))
            label = f"Avrami fit: n = {fit.n:.2f}, k = {fit.k:.3g} (r² = {fit.r2:.3f})"
            ax.plot(t, 100.0 * fraction, color="tab:blue", linestyle="--", label=label)
        ax.set_ylim(-5.0, 105.0)


PLOTS: dict[str, Callable[[AnalysisResult, Path], None]] = {
    "mean": _plot_mean,
    "mean_diff": _plot_mean_diff,
    "channels": _plot_channels,
    "temperatures": _plot_temperatures,
    "fraction": _plot_fraction,
}


def write_plots(result: AnalysisResult, folder: Path) -> dict[str, Path]:
    """Write every plot of the run into folder as <name>.png; returns name -> path, in PLOTS order, then
    the marked sample frame ("sample") when the run has one."""
    folder.mkdir(parents=True, exist_ok=True)
    paths: dict[str, Path] = {}
    for name, plot in PLOTS.items():
        path = folder / f"{name}.png"
        plot(result, path)
        paths[name] = path
    if result.sample is not None and write_sample_frame(result.sample, folder / "sample.png"):
        paths["sample"] = folder / "sample.png"
    return paths


def write_sample_frame(finding: SampleFinding, path: Path) -> bool:
    """A frame of the run with the sample box drawn (green) and the later check's box when it disagrees
    (orange); False when there is no readable frame."""
    if finding.frame is None:
        return False
    image = cv2.imread(str(finding.frame), cv2.IMREAD_COLOR)
    if image is None:
        return False
    thick = max(1, round(image.shape[1] / 400))
    check = finding.check
    if check is not None and not check.agrees:
        b = check.box
        cv2.rectangle(image, (b.x, b.y), (b.x + b.width - 1, b.y + b.height - 1), (0, 140, 255), thick)
    b = finding.location.box
    cv2.rectangle(image, (b.x, b.y), (b.x + b.width - 1, b.y + b.height - 1), (0, 220, 0), thick)
    label = f"{finding.location.method} {finding.location.confidence:.2f}"
    scale = max(0.4, image.shape[1] / 1600)
    cv2.putText(
        image, label, (b.x, max(12, b.y - 4 * thick)), cv2.FONT_HERSHEY_SIMPLEX, scale, (0, 220, 0), thick
    )
    return bool(cv2.imwrite(str(path), image))
