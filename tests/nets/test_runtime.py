"""The model step on live frames: both engines, batches, saved forecasts, clear errors."""

import json
from pathlib import Path

import numpy as np
import pytest

from monitor.config import parse_config
from monitor.ingest.loader import load_frame
from monitor.nets.manifest import ModelError
from monitor.nets.runtime import build_model_step
from monitor.simulate import SimulatedRun


def _stage(models: Path, tmp_path: Path, **overrides: object):
    section = {"enabled": True, "dir": str(models), "forecast_images": str(tmp_path / "fc"), **overrides}
    config = parse_config({"models": section}, env={})
    return build_model_step(config.models, config.analytics)


def _frames(run: SimulatedRun, times: list[int]) -> list[np.ndarray]:
    return [load_frame(run.out / f"{t:04d}.jpg", i).image for i, t in enumerate(times)]


def test_predictions_for_a_batch_equal_one_by_one(tiny_models: Path, reference_run, tmp_path: Path) -> None:
    stage = _stage(tiny_models, tmp_path, backend="torch")
    images = _frames(reference_run, [150, 400, 600])
    batch = stage.predict(images)
    singles = [stage.predict([image])[0] for image in images]
    for b, s in zip(batch, singles, strict=True):
        assert b.t1_image_c == pytest.approx(s.t1_image_c, abs=0.05)
        assert b.progress_image_pct == pytest.approx(s.progress_image_pct, abs=0.05)
        assert b.forecast.change == pytest.approx(s.forecast.change, abs=0.05)
    for p in batch:
        assert 0.0 <= p.progress_image_pct <= 100.0
        assert 500 < p.t1_image_c < 1800  # a trained regressor stays in the range it was taught
        assert p.forecast.horizon_s == 10.0 and 0 <= p.forecast.mean <= 255


def test_onnx_and_torch_engines_agree(tiny_models: Path, reference_run, tmp_path: Path, monkeypatch) -> None:
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    images = _frames(reference_run, [200, 560])
    torch_out = _stage(tiny_models, tmp_path, backend="torch").predict(images)
    onnx_stage = _stage(tiny_models, tmp_path, backend="onnx")
    assert onnx_stage.engines() == {"forecast": "onnx", "temperature_progress": "onnx"}
    assert len(list((tmp_path / "cache" / "furnace-monitor" / "onnx").glob("*.onnx"))) == 2
    onnx_out = onnx_stage.predict(images)
    for a, b in zip(torch_out, onnx_out, strict=True):
        assert a.t1_image_c == pytest.approx(b.t1_image_c, abs=0.5)
        assert a.progress_image_pct == pytest.approx(b.progress_image_pct, abs=0.5)
        assert a.forecast.mean == pytest.approx(b.forecast.mean, abs=0.5)


def test_forecast_frames_are_saved_per_run(tiny_models: Path, reference_run, tmp_path: Path) -> None:
    stage = _stage(tiny_models, tmp_path, temperature_progress=False)
    [p] = stage.predict(_frames(reference_run, [300]), names=[("run7", "0300.jpg")])
    assert p.t1_image_c is None and p.progress_image_pct is None
    saved = Path(p.forecast.image)
    assert saved == tmp_path / "fc" / "run7" / "0300.jpg"
    import cv2

    assert cv2.imread(str(saved)).shape == (64, 64, 3)  # the tiny model's working size


def test_a_frame_of_another_size_is_a_clear_error(tiny_models: Path, tmp_path: Path, caplog) -> None:
    stage = _stage(tiny_models, tmp_path, temperature_progress=False)
    frame = np.zeros((240, 320, 3), np.uint8)
    with pytest.raises(ModelError, match="does not fit a 320x240 frame"):
        stage.head("forecast").predict([frame], names=(), box=None)
    # the step catches it: the frame loses the forecast only, and the error is logged with its traceback
    [p] = stage.predict([frame], names=[("run7", "0001.jpg")])
    assert p.forecast is None
    [logged] = [r for r in caplog.records if "0001.jpg: the forecast model failed" in r.getMessage()]
    assert "does not fit a 320x240 frame" in str(logged.exc_info[1])


def test_a_missing_model_names_its_folder(tiny_models: Path, tmp_path: Path) -> None:
    with pytest.raises(ModelError, match=r"empty/forecast: no manifest\.json"):  # heads load in name order
        _stage(tmp_path / "empty", tmp_path)


def test_a_swapped_model_folder_is_refused(tiny_models: Path, tmp_path: Path) -> None:
    """A forecast model copied where the regressor belongs: the manifest's task gives it away."""
    import shutil

    shutil.copytree(tiny_models / "forecast", tmp_path / "m" / "temperature_progress")
    with pytest.raises(ModelError, match="a 'forecast' model, expected 'temperature_progress'"):
        _stage(tmp_path / "m", tmp_path, forecast=False)


def test_disabled_models_build_nothing(tiny_models: Path) -> None:
    config = parse_config({"models": {"dir": str(tiny_models)}}, env={})
    assert build_model_step(config.models, config.analytics) is None


def test_manifests_hold_the_training_record(tiny_models: Path, reference_run) -> None:
    for name, keys in (
        ("temperature_progress", {"mae_t1_c", "mae_progress_pct"}),
        ("forecast", {f"{m}_dt{dt}" for m in ("psnr", "ssim") for dt in (1, 5, 10, 30)}),
    ):
        manifest = json.loads((tiny_models / name / "manifest.json").read_text(encoding="utf-8"))
        assert manifest["task"] == name
        assert keys <= set(manifest["metrics"]) and keys <= set(manifest["baselines"])
        assert manifest["split"]["method"] == "time_blocks" and manifest["split"]["heldout_frames"] > 0
        assert manifest["runs"][0]["folder"] == str(reference_run.out)
        assert manifest["input"]["blank"] == [{"x": 0, "y": 0, "width": 101, "height": 55}]
        assert (tiny_models / name / "loss.png").read_bytes()[:4] == b"\x89PNG"


def test_analyze_batches_the_models_without_changing_the_results(
    tiny_models: Path, reference_run, tmp_path: Path
) -> None:
    from monitor.pipeline.batch import analyze_frames
    from monitor.pipeline.process import build_processor

    config = parse_config({"models": {"enabled": True, "dir": str(tiny_models), "backend": "torch"}}, env={})
    paths = [reference_run.out / f"{t:04d}.jpg" for t in range(300, 311)]
    broken = tmp_path / "0305.jpg"
    broken.write_bytes(paths[5].read_bytes()[:2000])  # truncated: flagged, and it must not shift the others
    paths[5] = broken
    processor = build_processor(config)
    one_by_one = analyze_frames(paths, processor, run="r", progress=False, batch=1)
    batched = analyze_frames(paths, processor, run="r", progress=False, batch=4)

    assert batched.files == one_by_one.files == [p.name for p in paths]
    assert batched.predictions[5] is None
    for b, s in zip(batched.predictions, one_by_one.predictions, strict=True):
        if s is None:
            assert b is None
            continue
        assert b is not None
        assert b.t1_image_c == pytest.approx(s.t1_image_c, abs=0.05)
        assert b.progress_image_pct == pytest.approx(s.progress_image_pct, abs=0.05)
        assert b.forecast.mean == pytest.approx(s.forecast.mean, abs=0.05)
    assert batched.t1 == one_by_one.t1
