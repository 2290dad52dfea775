"""`train` and `analyze --models` from the command line."""

import csv
import json
from pathlib import Path

import cv2
import numpy as np
import pytest

from monitor.cli import main
from monitor.nets.manifest import read_manifest
from monitor.simulate import SimulationOptions, simulate


@pytest.fixture(scope="module")
def unseen_run(tmp_path_factory: pytest.TempPathFactory):
    """20 full-size frames of another seed, across the crystallization start."""
    return simulate(
        tmp_path_factory.mktemp("unseen"),
        SimulationOptions(seconds=20, start=540, seed=5, workers=1),
        progress=False,
    )


def test_analyze_with_models_adds_their_columns(tiny_models: Path, unseen_run, tmp_path: Path) -> None:
    out = tmp_path / "analysis"
    assert (
        main(
            [
                "analyze",
                str(unseen_run.out),
                "-o",
                str(out),
                "--models",
                str(tiny_models),
                "-q",
                "--no-report",
            ]
        )
        == 0
    )
    with (out / "features.csv").open(encoding="utf-8") as f:
        rows = list(csv.DictReader(f))
    assert len(rows) == 20
    for row in rows:
        assert 500 < float(row["t1_image_c"]) < 1800
        assert 0 <= float(row["progress_image_pct"]) <= 100
        assert float(row["forecast_change"]) >= 0 and row["forecast_mean"]


def test_analyze_without_models_keeps_the_old_columns(unseen_run, tmp_path: Path) -> None:
    assert main(["analyze", str(unseen_run.out), "-o", str(tmp_path), "-q", "--no-report"]) == 0
    header = (tmp_path / "features.csv").read_text(encoding="utf-8").splitlines()[0]
    assert "t1_image_c" not in header


def test_analyze_models_folder_without_models(unseen_run, tmp_path: Path, capsys) -> None:
    assert main(["analyze", str(unseen_run.out), "-o", str(tmp_path), "--models", str(tmp_path), "-q"]) == 2
    assert "no trained model (temperature_progress/ or forecast/ with a manifest)" in capsys.readouterr().err


@pytest.mark.parametrize(
    ("plan", "message"),
    [
        ("regressor: {widht: 64}\n", "widht"),
        ("forecast: {size: 64, depth: 9}\n", "depth"),
        ("models: []\n", "models"),
    ],
)
def test_train_refuses_a_bad_plan(unseen_run, tmp_path: Path, capsys, plan: str, message: str) -> None:
    options = tmp_path / "plan.yaml"
    options.write_text(plan, encoding="utf-8")
    assert (
        main(["train", str(unseen_run.out), "-o", str(tmp_path / "m"), "--options", str(options), "-q"]) == 2
    )
    assert message in capsys.readouterr().err
    assert not (tmp_path / "m").exists()


def test_train_needs_held_out_frames(unseen_run, tmp_path: Path, capsys) -> None:
    """20 frames are less than one time block: nothing could be held out, so nothing is trained."""
    assert main(["train", str(unseen_run.out), "-o", str(tmp_path / "m"), "--preset", "demo", "-q"]) == 2
    assert "no held-out frames" in capsys.readouterr().err
    assert not (tmp_path / "m").exists()


def test_train_an_empty_folder(tmp_path: Path, capsys) -> None:
    (tmp_path / "empty").mkdir()
    assert main(["train", str(tmp_path / "empty"), "-o", str(tmp_path / "m"), "-q"]) == 2
    assert "no frame files (looked for jpg/jpeg/png/bmp/tif/tiff)" in capsys.readouterr().err


def test_evaluate_models_scores_each_run_against_its_truth(
    tiny_models: Path, unseen_run, tmp_path: Path, capsys
) -> None:
    """Two runs the models never saw: a score per run, and their mean and worst."""
    other = simulate(
        tmp_path / "other", SimulationOptions(seconds=12, start=300, seed=6, workers=1), progress=False
    )
    report = tmp_path / "scores.json"
    runs = [str(unseen_run.out), str(other.out)]
    assert main(["evaluate-models", *runs, "--models", str(tiny_models), "--json", str(report), "-q"]) == 0
    scores = json.loads(report.read_text(encoding="utf-8"))
    assert list(scores) == [unseen_run.out.name, "other"]
    assert scores[unseen_run.out.name]["frames"] == 20 and scores["other"]["frames"] == 12
    with (unseen_run.out / "truth.csv").open(encoding="utf-8") as f:
        truth = [float(r["t1_c"]) for r in csv.DictReader(f)]
    for score in scores.values():
        assert 0 <= score["mae_t1_c"] < 1000 and score["baseline_mae_t1_c"] > 0
        assert sum(s["frames"] for s in score["by_stage"]) == score["frames"]
    # the baseline is the training mean of 1#: its MAE on these frames follows from their truth
    mean_t1 = next(
        t.offset for t in read_manifest(tiny_models / "temperature_progress").targets if t.name == "t1_c"
    )
    expected = sum(abs(mean_t1 - t) for t in truth) / len(truth)
    assert scores[unseen_run.out.name]["baseline_mae_t1_c"] == pytest.approx(expected)
    out = capsys.readouterr().out
    assert "2 runs: 1# MAE mean" in out and "worst" in out


def test_evaluate_models_needs_truth(tiny_models: Path, tmp_path: Path, capsys) -> None:
    (tmp_path / "recorded").mkdir()
    cv2.imwrite(str(tmp_path / "recorded" / "0110.jpg"), np.zeros((48, 64, 3), np.uint8))
    assert main(["evaluate-models", str(tmp_path / "recorded"), "--models", str(tiny_models), "-q"]) == 2
    assert "no truth.csv in" in capsys.readouterr().err
