"""Write an AnalysisResult: features.csv, events.json (with the summary), plots and report.html."""

import csv
import math
from dataclasses import asdict
from pathlib import Path

from monitor.analytics.result import AnalysisResult
from monitor.records import Prediction, write_events

FEATURE_COLUMNS = (
    "time_s", "file", "mean", "mean_b", "mean_g", "mean_r", "mean_diff", "change", "texture",
    "textured_share", "probe_sum", "gain", "level", "sample_contrast_b", "sample_contrast_g",
    "sample_contrast_r", "t1_c", "t2_c", "stage",
    "fraction_image", "progress_pct", "flags",
)  # fmt: skip
# Written only when the run was analysed with models: progress_pct above is the detector's label (known in
# hindsight), progress_image_pct the model's estimate from the picture alone.
MODEL_COLUMNS = ("t1_image_c", "progress_image_pct", "forecast_mean", "forecast_change")


def _cell(value: object) -> object:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return ""
    return round(value, 4) if isinstance(value, float) else value


def write_features(path: Path, result: AnalysisResult) -> None:
    with path.open("w", newline="", encoding="utf-8") as f:
        writer = csv.writer(f, lineterminator="\n")
        with_models = any(p is not None for p in result.predictions)
        writer.writerow(FEATURE_COLUMNS + (MODEL_COLUMNS if with_models else ()))
        previous = None
        for i, t in enumerate(result.times):
            feat = result.features[i]
            mean = None if feat is None else feat.mean
            diff = None if mean is None or previous is None else mean - previous
            previous = mean
            values = (
                [feat.mean, feat.mean_b, feat.mean_g, feat.mean_r, diff, feat.change, feat.texture,
                 feat.textured_share, feat.probe_sum, feat.gain, feat.level, *feat.sample_contrast]
                if feat else [None] * 14
            )  # fmt: skip
            writer.writerow(
                [
                    _cell(v)
                    for v in [
                        t,
                        result.files[i],
                        *values,
                        result.t1[i],
                        result.t2[i],
                        str(result.stages[i]),
                        result.fraction_image[i],
                        result.progress_pct[i],
                    ]
                ]
                + ["; ".join(map(str, result.flags[i])) if result.flags else ""]
                + (_model_cells(result.predictions[i]) if with_models else [])
            )


def _model_cells(prediction: Prediction | None) -> list[object]:
    if prediction is None:
        return [""] * len(MODEL_COLUMNS)
    f = prediction.forecast
    values = [prediction.t1_image_c, prediction.progress_image_pct, f and f.mean, f and f.change]
    return [_cell(v) for v in values]


def summary_json(result: AnalysisResult) -> dict[str, object]:
    s = result.summary
    return {
        "melting_temperature_c": s.melting_temperature_c,
        "crystallization_temperature_c": s.crystallization_temperature_c,
        "cooling_start_s": s.cooling_start_s,
        "incubation_s": s.incubation_s,
        "avrami": None if s.avrami is None else asdict(s.avrami),
        "thermocouples": [{**asdict(h), "reasons": list(h.reasons)} for h in result.health],
        "unreliable_thermocouples": [h.name for h in result.health if not h.reliable],
        "correlation": result.correlation,
    }


def write_outputs(
    folder: Path, result: AnalysisResult, *, report: bool = True, source: str = "analyze"
) -> dict[str, Path]:
    """Everything `analyze -o DIR` writes (the daemon's run reports too, `source` "daemon"); returns
    name -> path."""
    folder.mkdir(parents=True, exist_ok=True)
    paths = {"features": folder / "features.csv", "events": folder / "events.json"}
    write_features(paths["features"], result)
    write_events(
        paths["events"],
        result.events,
        run=result.run,
        source=source,
        summary=summary_json(result),
        not_found=[m.to_json() for m in result.missed],
    )
    if report:
        from monitor.report.html import write_report
        from monitor.report.run_plots import write_plots

        plots = write_plots(result, folder)
        paths.update(plots)
        paths["report"] = write_report(result, folder, plots)
    return paths
