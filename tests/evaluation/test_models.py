"""Scoring the models against a run's truth: overall, per stage, and against the training-mean baseline."""

from pathlib import Path

import pytest

from monitor.evaluation.models import format_score, score_predictions
from monitor.records import Forecast, Prediction, ProgressBasis, ProgressEstimate
from tests.first_heads import first_heads


def _truth(path: Path) -> Path:
    rows = [
        ("0001.jpg", 1000, 0.0, "heating"),
        ("0002.jpg", 1100, 0.0, "heating"),
        ("0003.jpg", 1200, 50.0, "crystallizing"),
        ("0004.jpg", 1300, 100.0, "solid"),
    ]
    body = [f"{f},{i},{t},{p},{s}" for i, (f, t, p, s) in enumerate(rows)]
    lines = ["file,time_s,t1_c,progress_pct,stage", *body]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def _p(t1: float | None, progress: float | None) -> Prediction:
    return first_heads(t1, progress, None)


def _live(pct: float, basis: ProgressBasis) -> ProgressEstimate:
    return ProgressEstimate(pct, basis)


def test_errors_overall_per_stage_and_baseline(tmp_path: Path) -> None:
    truth = _truth(tmp_path / "truth.csv")
    files = ["0001.jpg", "0002.jpg", "0003.jpg", "0004.jpg", "9999.jpg"]
    # 0003's models failed; 9999 is not in the truth
    predictions = [_p(1010, 0.0), _p(1080, 2.0), None, _p(1300, 96.0), _p(0.0, 0.0)]
    # what the pipeline published: the stage's certainty where it had it, the image's reading elsewhere
    live = [_live(0.0, ProgressBasis.STAGE), _live(2.0, ProgressBasis.IMAGE), None,
            _live(99.0, ProgressBasis.KINETICS), None]  # fmt: skip

    score = score_predictions(files, predictions, truth, train_means=(1150.0, 40.0), progress_live=live)

    assert score.frames == 3
    assert score.mae_t1_c == pytest.approx((10 + 20 + 0) / 3)
    assert score.mae_progress_pct == pytest.approx((0 + 2 + 1) / 3)
    assert score.mae_progress_image_pct == pytest.approx((0 + 2 + 4) / 3)
    assert score.baseline_mae_t1_c == pytest.approx((150 + 50 + 150) / 3)
    assert score.baseline_mae_progress_pct == pytest.approx((40 + 40 + 60) / 3)
    assert [(s.stage, s.frames) for s in score.by_stage] == [("heating", 2), ("solid", 1)]
    assert score.by_stage[0].mae_t1_c == pytest.approx(15.0)
    assert score.by_stage[1].mae_progress_pct == pytest.approx(1.0)
    assert score.by_stage[1].mae_progress_image_pct == pytest.approx(4.0)
    text = format_score(score)
    assert text.splitlines()[0].startswith("3 frames: 1# from the image MAE 10.00 degC")
    assert "progress MAE 1.00 pp (image alone 2.00" in text.splitlines()[0]
    assert "heating" in text.splitlines()[1] and "15.00" in text.splitlines()[1]


def test_a_model_without_one_output_scores_only_the_other(tmp_path: Path) -> None:
    truth = _truth(tmp_path / "truth.csv")
    forecast_only = first_heads(None, None, Forecast(10.0, 100.0, 1.0, None))

    score = score_predictions(["0001.jpg"], [forecast_only], truth, train_means=(0.0, 0.0))

    assert score.frames == 0 and score.mae_t1_c is None and score.mae_progress_pct is None
    assert "n/a" in format_score(score)


def test_runs_of_the_same_name_keep_their_own_scores() -> None:
    """Two programmes' `reference` runs must not overwrite each other's score."""
    from monitor.evaluation.models import run_names

    folders = [Path("/s/auto/reference"), Path("/s/fixed/reference"), Path("/s/auto/hot")]
    assert run_names(folders) == ["auto/reference", "fixed/reference", "auto/hot"]
    assert run_names([Path("/a/r1"), Path("/b/r2")]) == ["r1", "r2"]
