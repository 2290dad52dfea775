"""How the models did on a run with a known truth (a simulated run's truth.csv): the check on a run they
were not trained on, next to the predict-the-training-mean baseline."""

import csv
import math
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, NamedTuple

import numpy as np

from monitor.nets.manifest import ModelError, read_manifest
from monitor.records import Prediction, ProgressEstimate

if TYPE_CHECKING:
    from monitor.pipeline.process import FrameProcessor

TRUTH_FILE = "truth.csv"


class _FrameErrors(NamedTuple):
    stage: str
    t1: float | None
    t1_baseline: float | None
    progress: float | None
    progress_baseline: float | None
    progress_image: float | None


@dataclass(frozen=True, slots=True)
class StageScore:
    stage: str
    frames: int
    mae_t1_c: float | None
    mae_progress_pct: float | None
    mae_progress_image_pct: float | None


@dataclass(frozen=True, slots=True)
class ModelScore:
    frames: int
    mae_t1_c: float | None
    mae_progress_pct: float | None  # the pipeline's live progress: the run's history, else the image model
    mae_progress_image_pct: float | None  # the image model's reading of each frame alone
    baseline_mae_t1_c: float | None  # predicting the training mean of 1# for every frame
    baseline_mae_progress_pct: float | None
    # per true stage, in run order: where the picture does and does not carry the temperature
    by_stage: tuple[StageScore, ...] = ()


def training_means(models_dir: Path) -> tuple[float, float]:
    """(1#, progress) averaged over the training labels of the regressor in `models_dir`: its targets are
    centred on them (the manifest's target offsets)."""
    from monitor.nets.runtime import REGRESSOR_DIR

    manifest = read_manifest(models_dir / REGRESSOR_DIR, task="temperature_progress")
    offsets = {t.name: t.offset for t in manifest.targets}
    return offsets["t1_c"], offsets["progress_pct"]


def score_predictions(
    files: list[str],
    predictions: list[Prediction | None],
    truth_csv: Path,
    *,
    train_means: tuple[float, float],
    progress_live: Sequence[ProgressEstimate | None] = (),
) -> ModelScore:
    """Mean absolute errors against the truth, matched by file name. Progress is scored as the pipeline
    published it (`progress_live`, per file) and as the image model read it."""
    with truth_csv.open(encoding="utf-8") as f:
        truth = {row["file"]: row for row in csv.DictReader(f)}
    rows: list[_FrameErrors] = []
    live = list(progress_live) or [None] * len(files)
    for file, p, estimate in zip(files, predictions, live, strict=True):
        row = truth.get(file)
        if p is None or row is None:
            continue
        t1, progress = float(row["t1_c"]), float(row["progress_pct"])
        live_pct = None if estimate is None else estimate.pct
        rows.append(
            _FrameErrors(
                stage=row.get("stage") or "?",
                t1=_error(p.t1_image_c, t1),
                t1_baseline=None if p.t1_image_c is None else abs(train_means[0] - t1),
                progress=_error(live_pct, progress),
                progress_baseline=None if live_pct is None else abs(train_means[1] - progress),
                progress_image=_error(p.progress_image_pct, progress),
            )
        )

    def mae(selected: list[_FrameErrors], field: str) -> float | None:
        return _mean([v for r in selected if (v := getattr(r, field)) is not None])

    def counted(selected: list[_FrameErrors]) -> int:
        return max(sum(r.t1 is not None for r in selected), sum(r.progress is not None for r in selected))

    by_stage: dict[str, list[_FrameErrors]] = {}  # in run order
    for r in rows:
        by_stage.setdefault(r.stage, []).append(r)
    return ModelScore(
        frames=counted(rows),
        mae_t1_c=mae(rows, "t1"),
        mae_progress_pct=mae(rows, "progress"),
        mae_progress_image_pct=mae(rows, "progress_image"),
        baseline_mae_t1_c=mae(rows, "t1_baseline"),
        baseline_mae_progress_pct=mae(rows, "progress_baseline"),
        by_stage=tuple(
            StageScore(stage, counted(sel), mae(sel, "t1"), mae(sel, "progress"), mae(sel, "progress_image"))
            for stage, sel in by_stage.items()
        ),
    )


def evaluate_runs(
    folders: list[Path],
    processor: "FrameProcessor",
    *,
    train_means: tuple[float, float],
    size: tuple[int, int] | None = None,
    progress: bool = True,
) -> dict[str, ModelScore]:
    """Each simulated run through the pipeline with the models on, scored against its truth.csv; keyed by
    the folder's name, or by as much of its path as tells two runs of the same name apart."""
    from monitor.ingest.loader import list_frames
    from monitor.pipeline.batch import analyze_frames

    missing = [str(f) for f in folders if not (f / TRUTH_FILE).is_file()]
    if missing:
        raise FileNotFoundError(f"no {TRUTH_FILE} in {', '.join(missing)} (a run from `simulate` has one)")
    scores = {}
    for folder, name in zip(folders, run_names(folders), strict=True):
        result = analyze_frames(list_frames(folder), processor, run=name, size=size, progress=progress)
        if not result.predictions:
            raise ModelError(f"{folder}: the pipeline ran no models")
        scores[name] = score_predictions(
            result.files, result.predictions, folder / TRUTH_FILE, train_means=train_means,
            progress_live=result.progress_live,
        )  # fmt: skip
    return scores


def format_runs(scores: dict[str, ModelScore]) -> str:
    """One block per run, then the mean and the worst run's 1# MAE when there are several."""
    blocks = [f"{name}: {format_score(score)}" for name, score in scores.items()]
    t1 = [s.mae_t1_c for s in scores.values() if s.mae_t1_c is not None]
    progress = [s.mae_progress_pct for s in scores.values() if s.mae_progress_pct is not None]
    if len(scores) > 1 and t1:
        worst = max(scores, key=lambda name: scores[name].mae_t1_c or -math.inf)
        line = f"{len(scores)} runs: 1# MAE mean {np.mean(t1):.2f} degC, worst {max(t1):.2f} ({worst})"
        if progress:
            line += f"; progress MAE mean {np.mean(progress):.2f} pp, worst {max(progress):.2f}"
        blocks.append(line)
    return "\n".join(blocks)


def _error(value: float | None, truth: float) -> float | None:
    return None if value is None else abs(value - truth)


def _mean(values: list[float]) -> float | None:
    return float(np.mean(values)) if values else None


def format_score(score: ModelScore) -> str:
    def cell(v: float | None) -> str:
        return "n/a" if v is None or math.isnan(v) else f"{v:.2f}"

    lines = [
        f"{score.frames} frames: 1# from the image MAE {cell(score.mae_t1_c)} degC "
        f"(training-mean baseline {cell(score.baseline_mae_t1_c)}), progress MAE "
        f"{cell(score.mae_progress_pct)} pp (image alone {cell(score.mae_progress_image_pct)}, "
        f"baseline {cell(score.baseline_mae_progress_pct)})"
    ]
    lines += [
        f"  {s.stage:<14} {s.frames:>4} frames: 1# MAE {cell(s.mae_t1_c):>7} degC, progress MAE "
        f"{cell(s.mae_progress_pct):>6} pp (image alone {cell(s.mae_progress_image_pct):>6})"
        for s in score.by_stage
    ]
    return "\n".join(lines)


def run_names(folders: list[Path]) -> list[str]:
    """Short, distinct names: each folder's last path part, or as many parts as it takes to tell runs of
    the same name apart (sweep/auto/reference, sweep/fixed/reference -> auto/reference, fixed/reference)."""
    parts = [f.resolve().parts for f in folders]
    for depth in range(1, max((len(p) for p in parts), default=1) + 1):
        names = ["/".join(p[-depth:]) for p in parts]
        if len(set(names)) == len(names):
            return names
    return [str(f) for f in folders]
