"""How the models did on a run with a known truth (a simulated run's truth.csv): the check on a run they
were not trained on, next to the predict-the-training-mean baseline."""

import csv
import math
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from monitor.nets.manifest import Manifest
from monitor.records import Prediction


@dataclass(frozen=True, slots=True)
class StageScore:
    stage: str
    frames: int
    mae_t1_c: float | None
    mae_progress_pct: float | None


@dataclass(frozen=True, slots=True)
class ModelScore:
    frames: int
    mae_t1_c: float | None
    mae_progress_pct: float | None
    baseline_mae_t1_c: float | None  # predicting the training mean of 1# for every frame
    baseline_mae_progress_pct: float | None
    # per true stage, in run order: where the picture does and does not carry the temperature
    by_stage: tuple[StageScore, ...] = ()


def training_means(manifest: Manifest) -> tuple[float, float]:
    """(1#, progress) averaged over the training labels: the regressor's targets are centred on them."""
    offsets = {t.name: t.offset for t in manifest.targets}
    return offsets["t1_c"], offsets["progress_pct"]


def score_predictions(
    files: list[str],
    predictions: list[Prediction | None],
    truth_csv: Path,
    *,
    train_means: tuple[float, float],
) -> ModelScore:
    """Mean absolute errors against the truth, matched by file name."""
    with truth_csv.open(encoding="utf-8") as f:
        truth = {row["file"]: row for row in csv.DictReader(f)}
    t1_err, t1_base, pr_err, pr_base = [], [], [], []
    stage_t1: dict[str, list[float]] = {}
    stage_pr: dict[str, list[float]] = {}
    for file, p in zip(files, predictions, strict=True):
        row = truth.get(file)
        if p is None or row is None:
            continue
        stage = row.get("stage") or "?"
        stage_t1.setdefault(stage, [])
        stage_pr.setdefault(stage, [])
        if p.t1_image_c is not None:
            t1_err.append(abs(p.t1_image_c - float(row["t1_c"])))
            t1_base.append(abs(train_means[0] - float(row["t1_c"])))
            stage_t1[stage].append(t1_err[-1])
        if p.progress_pct is not None:
            pr_err.append(abs(p.progress_pct - float(row["progress_pct"])))
            pr_base.append(abs(train_means[1] - float(row["progress_pct"])))
            stage_pr[stage].append(pr_err[-1])

    return ModelScore(
        frames=max(len(t1_err), len(pr_err)),
        mae_t1_c=_mean(t1_err),
        mae_progress_pct=_mean(pr_err),
        baseline_mae_t1_c=_mean(t1_base),
        baseline_mae_progress_pct=_mean(pr_base),
        by_stage=tuple(
            StageScore(
                stage=stage,
                frames=max(len(stage_t1[stage]), len(stage_pr[stage])),
                mae_t1_c=_mean(stage_t1[stage]),
                mae_progress_pct=_mean(stage_pr[stage]),
            )
            for stage in stage_t1
        ),
    )


def _mean(values: list[float]) -> float | None:
    return float(np.mean(values)) if values else None


def format_score(score: ModelScore) -> str:
    def cell(v: float | None) -> str:
        return "n/a" if v is None or math.isnan(v) else f"{v:.2f}"

    lines = [
        f"{score.frames} frames: 1# from the image MAE {cell(score.mae_t1_c)} degC "
        f"(training-mean baseline {cell(score.baseline_mae_t1_c)}), progress MAE "
        f"{cell(score.mae_progress_pct)} pp (baseline {cell(score.baseline_mae_progress_pct)})"
    ]
    lines += [
        f"  {s.stage:<14} {s.frames:>4} frames: 1# MAE {cell(s.mae_t1_c):>7} degC, progress MAE "
        f"{cell(s.mae_progress_pct):>6} pp"
        for s in score.by_stage
    ]
    return "\n".join(lines)
