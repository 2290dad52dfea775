"""A model is one file: a head module found by the discovery, whose declared fields reach the frame JSON on
MQTT, the InfluxDB line and the store row with no other module changed; a failing head costs only its own
outputs. The heads here are written into a package of the test's own, which the discovery is pointed at."""

import json
import logging
import sqlite3
import sys
import textwrap
from collections.abc import Iterator
from contextlib import closing
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest

from monitor.config import MonitorConfig, parse_config
from monitor.config.service import StoreConfig
from monitor.nets.heads import head_modules
from monitor.nets.manifest import ModelError
from monitor.nets.runtime import ModelStep, build_model_step
from monitor.records import Forecast, FrameResult, Prediction, ProgressBasis, ProgressEstimate, Stage
from monitor.sinks.base import RunContext
from monitor.sinks.influx import frame_point
from monitor.sinks.mqtt import MqttSink
from monitor.sinks.payload import frame_document, frame_fields, prediction_document
from monitor.sinks.store import StoreSink
from tests.first_heads import first_heads

PACKAGE = "furnace_test_heads"
CONTEXT = RunContext(rig="rig-1", run="run1", started_at=1_700_000_000.0)

# What a newcomer writes: its outputs, declared once, and how it computes them.
BRIGHTNESS = """
import numpy as np

from monitor.predictions import HeadSpec, OutputField

SPEC = HeadSpec("brightness", fields=(OutputField("level", digits=2), OutputField("spread", digits=1)))


class Brightness:
    spec = SPEC

    def predict(self, images, *, names, box):
        return [SPEC.output(float(np.mean(image)), float(np.std(image))) for image in images]


def build_head(models, analytics):
    return Brightness()
"""

# A head with a bug: it cannot take a frame whose first pixel is white.
PICKY = """
from monitor.predictions import HeadSpec, OutputField

SPEC = HeadSpec("picky", fields=(OutputField("score"),))


class Picky:
    spec = SPEC

    def predict(self, images, *, names, box):
        if any(image[0, 0, 0] == 255 for image in images):
            raise ValueError("a white corner")
        return [SPEC.output(1.0) for _ in images]


def build_head(models, analytics):
    return Picky()
"""


@pytest.fixture(scope="module")
def heads_package(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    root = tmp_path_factory.mktemp("heads")
    (root / PACKAGE).mkdir()
    (root / PACKAGE / "__init__.py").write_text("", encoding="utf-8")
    (root / PACKAGE / "brightness.py").write_text(textwrap.dedent(BRIGHTNESS), encoding="utf-8")
    (root / PACKAGE / "picky.py").write_text(textwrap.dedent(PICKY), encoding="utf-8")
    (root / PACKAGE / "helpers.py").write_text("VALUE = 1\n", encoding="utf-8")  # no SPEC: not a head
    sys.path.insert(0, str(root))
    yield PACKAGE
    sys.path.remove(str(root))
    for name in [m for m in sys.modules if m == PACKAGE or m.startswith(f"{PACKAGE}.")]:
        del sys.modules[name]


def _config(**heads: bool) -> MonitorConfig:
    """Models on with only the test's heads: the first two switched off by their old keys."""
    section = {
        "enabled": True,
        "temperature_progress": False,
        "forecast": False,
        "heads": {name: {"enabled": on} for name, on in heads.items()},
    }
    return parse_config({"models": section}, env={})


def _step(package: str, **heads: bool) -> ModelStep:
    config = _config(**heads)
    step = build_model_step(config.models, config.analytics, packages=(package,))
    assert step is not None
    return step


def _result(index: int, prediction: Prediction | None) -> FrameResult:
    return FrameResult(
        index=index, file=f"{index:04d}.jpg", time_s=float(index), reading=None, frame_error=None,
        features=None, stage=Stage.HEATING, events=(), crystal_fraction=None, latency_ms=1.0,
        prediction=prediction,
    )  # fmt: skip


def _frames(*corners: int) -> list[np.ndarray]:
    """Grey frames of level 100, the first pixel set to each corner value."""
    frames = []
    for corner in corners:
        image = np.full((48, 64, 3), 100, np.uint8)
        image[0, 0] = corner
        frames.append(image)
    return frames


def test_the_discovery_finds_heads_by_their_spec_in_name_order(heads_package: str) -> None:
    names = [m.SPEC.name for m in head_modules((heads_package,))]
    assert names == ["forecast", "temperature_progress", "brightness", "picky"]


def test_a_head_in_its_own_file_reaches_mqtt_influxdb_and_the_store(
    heads_package: str, tmp_path: Path
) -> None:
    step = _step(heads_package, picky=False)  # the generic switch: picky is off
    assert [h.spec.name for h in step.heads] == ["brightness"]
    [prediction] = step.predict(_frames(100), names=[("run1", "0007.jpg")])
    result = _result(7, prediction)

    # MQTT: the frame JSON the sink publishes, the head's fields under its name, rounded as declared
    mqtt = MqttSink(config=_config().mqtt, alerts=_config().alerts, rig="rig-1")
    [item] = mqtt.encode(CONTEXT, result)
    doc = json.loads(json.loads(item.payload)["payload"])
    assert doc["brightness"] == {"level": 100.0, "spread": 0.0}
    assert "picky" not in doc
    # the first heads' keys are still there, null: those heads are not loaded
    assert doc["t1_image_c"] is None and doc["progress_image_pct"] is None and doc["forecast"] is None

    # InfluxDB: <head>_<field>
    assert frame_fields(result)["brightness_level"] == 100.0
    line = frame_point(CONTEXT, result)
    assert "brightness_level=100.0" in line and "brightness_spread=0.0" in line

    # the store: the `outputs` column, by head name; the first heads' columns stay empty
    sink = StoreSink(StoreConfig(path=tmp_path / "furnace.sqlite"))
    sink.open()
    sink.write([i.payload for i in sink.encode(CONTEXT, result)])
    sink.close()
    with closing(sqlite3.connect(tmp_path / "furnace.sqlite")) as db:
        db.row_factory = sqlite3.Row
        row = db.execute("SELECT * FROM frames WHERE file = '0007.jpg'").fetchone()
    assert json.loads(row["outputs"]) == {"brightness": {"level": 100.0, "spread": 0.0}}
    assert row["t1_image_c"] is None and row["forecast_mean"] is None
    assert json.loads(row["document"])["brightness"] == doc["brightness"]


def test_a_failing_head_costs_only_its_own_outputs_on_the_frames_it_fails(
    heads_package: str, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.ERROR, logger="monitor.nets.runtime")
    step = _step(heads_package)
    names = [("run1", f"{i:04d}.jpg") for i in range(3)]
    predictions = step.predict(_frames(100, 255, 100), names=names)  # picky cannot take the middle one

    assert [p.value("brightness", "level") for p in predictions] == pytest.approx(
        [100.0, 100.05, 100.0], abs=0.01
    )
    assert [p.value("picky", "score") for p in predictions] == [1.0, None, 1.0]
    docs = [prediction_document(p) for p in predictions]
    assert [d["picky"] for d in docs] == [{"score": 1.0}, None, {"score": 1.0}]
    assert all(d["brightness"]["level"] is not None for d in docs)
    assert "picky_score" not in frame_fields(_result(1, predictions[1]))
    logged = [r for r in caplog.records if "failed" in r.getMessage()]
    assert [r.getMessage() for r in logged] == ["0001.jpg: the picky model failed"]
    assert logged[0].exc_info is not None and "a white corner" in str(logged[0].exc_info[1])


def test_a_switch_for_a_head_that_does_not_exist_is_refused(heads_package: str) -> None:
    with pytest.raises(ModelError, match=r"models.heads: no head named brightnes \(there are: .*brightness"):
        _step(heads_package, brightnes=False)


def test_the_old_switches_and_the_heads_mapping_both_switch_a_head() -> None:
    models = parse_config({"models": {"forecast": False}}, env={}).models
    assert not models.runs("forecast") and models.runs("temperature_progress") and models.runs("new_head")
    models = parse_config({"models": {"heads": {"temperature_progress": {"enabled": False}}}}, env={}).models
    assert not models.runs("temperature_progress") and models.runs("forecast")


def test_the_first_heads_keep_their_json_keys_and_influxdb_fields() -> None:
    """The image model's progress is `progress_image_pct`; `progress_pct` is the pipeline's, which took the
    kinetics here (analytics/progress.py), and both reach the JSON and InfluxDB."""
    prediction = first_heads(1049.46, 12.3456, Forecast(10.0, 80.12345, 3.54321, "fc/run1/0001.jpg"))
    assert prediction_document(prediction) == {
        "t1_image_c": 1049.5,
        "progress_image_pct": 12.35,
        "forecast": {"horizon_s": 10.0, "mean": 80.123, "change": 3.543, "image": "fc/run1/0001.jpg"},
    }
    result = replace(_result(1, prediction), progress=ProgressEstimate(20.0, ProgressBasis.KINETICS))
    fields = frame_fields(result)
    assert {k: v for k, v in fields.items() if k.startswith(("t1_image", "progress", "forecast"))} == {
        "t1_image_c": 1049.46,
        "progress_pct": 20.0,
        "progress_image_pct": 12.3456,
        "forecast_horizon_s": 10.0,
        "forecast_mean": 80.12345,
        "forecast_change": 3.54321,
    }
    doc = frame_document(CONTEXT, result)
    assert doc["progress_pct"] == 20.0 and doc["progress_basis"] == "kinetics"
    assert doc["progress_image_pct"] == 12.35
    no_forecast = prediction_document(first_heads(1000.0, 5.0, None))
    assert no_forecast["forecast"] is None
    assert prediction_document(None) == {"t1_image_c": None, "progress_image_pct": None, "forecast": None}


def test_the_start_up_check_skips_a_model_folder_switched_off_in_models_heads(tmp_path: Path) -> None:
    from monitor.service.preflight import model_checks

    section = {"enabled": True, "dir": str(tmp_path), "heads": {"forecast": {"enabled": False}}}
    config = parse_config({"models": section}, env={})
    assert [c.name for c in model_checks(config)] == ["models.temperature_progress"]
