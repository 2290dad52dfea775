"""`train` keeps the labels of the runs it labelled: training again on the same frames skips the OCR and
the detector; another frame, config or code labels again."""

from pathlib import Path

import cv2
import numpy as np
import pytest

from monitor.config import parse_config
from monitor.nets import train
from monitor.nets.labels import LabelledRun, load_labels, save_labels
from monitor.records import Stage


def _run(folder: Path) -> LabelledRun:
    return LabelledRun(
        name=folder.name,
        folder=folder,
        files=("0001.png", "0002.png", "0003.png"),
        times=np.array([1.0, 2.0, 3.0]),
        t1_c=np.array([900.0, np.nan, 910.0]),
        progress_pct=np.array([np.nan, np.nan, np.nan]),
        stages=(Stage.HEATING, Stage.HEATING, Stage.MELTING),
        decoded=np.array([True, False, True]),
    )


@pytest.fixture
def frames(tmp_path: Path) -> Path:
    folder = tmp_path / "run"
    folder.mkdir()
    for i in range(1, 4):
        cv2.imwrite(str(folder / f"{i:04d}.png"), np.full((8, 8, 3), 10 * i, np.uint8))
    return folder


def test_labels_round_trip(frames: Path, tmp_path: Path) -> None:
    run = _run(frames)
    save_labels(tmp_path / "labels.npz", run)
    back = load_labels(tmp_path / "labels.npz", frames)
    assert back is not None
    assert back.files == run.files and back.stages == run.stages
    np.testing.assert_array_equal(back.t1_c, run.t1_c)  # NaN where no label
    np.testing.assert_array_equal(back.decoded, run.decoded)
    assert load_labels(tmp_path / "missing.npz", frames) is None
    (tmp_path / "bad.npz").write_bytes(b"not a zip")
    assert load_labels(tmp_path / "bad.npz", frames) is None


def test_training_again_reuses_the_labels_until_a_frame_changes(
    frames: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    calls = []

    def fake_label_run(folder: Path, processor, *, progress: bool) -> LabelledRun:
        calls.append(folder)
        return _run(folder)

    monkeypatch.setattr(train, "label_run", fake_label_run)
    monkeypatch.setattr(train, "build_processor", lambda config: object())
    config = parse_config({}, env={})
    cache = tmp_path / "cache"

    first = train.label_runs([frames], config, progress=False, cache=cache)
    again = train.label_runs([frames], config, progress=False, cache=cache)
    assert len(calls) == 1
    np.testing.assert_array_equal(first[0].t1_c, again[0].t1_c)

    cv2.imwrite(str(frames / "0002.png"), np.full((9, 9, 3), 99, np.uint8))
    train.label_runs([frames], config, progress=False, cache=cache)
    assert len(calls) == 2

    other = parse_config({"rig": "other"}, env={})
    train.label_runs([frames], other, progress=False, cache=cache)
    assert len(calls) == 3

    train.label_runs([frames], config, progress=False, cache=None)
    assert len(calls) == 4
