"""The daemon end to end, with a real Mosquitto and a real InfluxDB: frames dropped into the watched folder
come out on MQTT (a real subscriber), in InfluxDB (read back with InfluxQL) and in the SQLite store."""

import json
import os
import shutil
import threading
import urllib.request
from pathlib import Path

import paho.mqtt.client as mqtt
import pytest

from monitor.config import parse_config
from monitor.ingest.identity import RunKeys
from monitor.records import EventType, read_events
from monitor.service.app import build_daemon
from monitor.service.http import HealthServer
from monitor.simulate import SimulatedRun
from monitor.sinks.store import stored_events
from tests.services import wait_until
from tests.sinks.conftest import Mosquitto
from tests.sinks.influx_server import InfluxServer


class Subscriber:
    """A real MQTT client collecting every message under furnace/#."""

    def __init__(self, broker: Mosquitto, *, clean_start: bool = True) -> None:
        self.messages: list[tuple[str, bytes, bool]] = []
        self._lock = threading.Lock()
        # A persistent session (clean_start False) has the broker keep QoS 1 messages while we are away.
        self.client = mqtt.Client(
            mqtt.CallbackAPIVersion.VERSION2,
            client_id=f"test-subscriber-{id(self)}",
            clean_session=clean_start,
        )
        self.client.on_message = self._on_message
        self.client.on_connect = lambda c, *_: c.subscribe("furnace/#", qos=1)
        self.client.connect(broker.host, broker.port)
        self.client.loop_start()

    def _on_message(self, _c: object, _u: object, message: mqtt.MQTTMessage) -> None:
        with self._lock:
            self.messages.append((message.topic, message.payload, bool(message.retain)))

    def on(self, topic: str) -> list[bytes]:
        return self.messages_on(f"furnace/rig1/{topic}")

    def messages_on(self, topic: str) -> list[bytes]:
        with self._lock:
            return [p for t, p, _ in self.messages if t == topic]

    def close(self) -> None:
        self.client.loop_stop()
        self.client.disconnect()


def run_key_of(folder: Path) -> str:
    """The run id the daemon gives a folder's run (its name and a digest of the recording)."""
    key = RunKeys().key(folder.name, folder)
    assert key is not None
    return key.id


def drop_frames(source: Path, folder: Path) -> None:
    """Copy a recorded run into the watched folder the way a camera PC does: temp file, then rename."""
    drop_frames_into(sorted(source.glob("*.jpg")), folder)


def drop_frames_into(frames: list[Path], folder: Path) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    for frame in frames:
        tmp = folder / f".{frame.name}.tmp"
        shutil.copyfile(frame, tmp)
        os.replace(tmp, folder / frame.name)


def daemon_config(
    tmp_path: Path,
    broker: Mosquitto,
    *,
    influx: InfluxServer | None = None,
    stall_s: float = 600,
    models: Path | None = None,
):
    """A config for a daemon in tmp_path talking to the test broker (and database)."""
    data = {
        "rig": "rig1",
        "ingest": {"watch_dir": str(tmp_path / "frames"), "checkpoint_dir": str(tmp_path / "ckpt"),
                   "settle_s": 0.1, "stall_timeout_s": stall_s},
        "mqtt": {"host": broker.host, "port": broker.port},
        "store": {"path": str(tmp_path / "store.sqlite")},
        "outbox": {"path": str(tmp_path / "outbox.sqlite")},
    }  # fmt: skip
    if influx is not None:
        data["influx"] = {"enabled": True, "api": "v1", "url": influx.url, "database": "furnace"}
    if models is not None:
        data["models"] = {"enabled": True, "dir": str(models), "forecast_images": str(tmp_path / "forecasts")}
    (tmp_path / "frames").mkdir()
    return parse_config(data, env={})


@pytest.fixture
def influx(tmp_path: Path):
    with InfluxServer(tmp_path / "influx") as server:
        server.create_database("furnace")
        yield server


def test_frames_in_folder_come_out_everywhere(
    whole_run: SimulatedRun, mosquitto: Mosquitto, influx: InfluxServer, tmp_path: Path
) -> None:
    """A whole run (every event, in 220 small frames: tests/service/conftest.py); the reference run's 1024x768
    frames go through the daemon in the demo's tests and, with the models, in the next test."""
    n = len(whole_run.frames)
    config = daemon_config(tmp_path, mosquitto, influx=influx)
    subscriber = Subscriber(mosquitto)
    daemon = build_daemon(config)
    http = HealthServer("127.0.0.1", 0, health=daemon.health, metrics=daemon.metrics.render)
    http.start()
    daemon.start()
    try:
        drop_frames(whole_run.out, tmp_path / "frames" / "run1")
        # 220 frames take a few seconds on an idle 2-core machine; a loaded one may need several times that
        wait_until(lambda: len(subscriber.on("frame")) >= n, f"all {n} frames on MQTT", timeout=240)
        wait_until(lambda: influx.count("furnace_frame", "furnace") >= n, timeout=60)
        with urllib.request.urlopen(f"http://127.0.0.1:{http.port}/healthz") as answer:
            health = json.loads(answer.read())
        with urllib.request.urlopen(f"http://127.0.0.1:{http.port}/metrics") as answer:
            metrics = answer.read().decode()
    finally:
        daemon.stop()
        http.stop()
    wait_until(lambda: subscriber.on("status")[-1:] == [b"offline"], timeout=20)
    subscriber.close()

    frames = [json.loads(p) for p in subscriber.on("frame")]
    run_id = run_key_of(tmp_path / "frames" / "run1")
    assert {f["id"] for f in frames} == {f"rig1/{run_id}/{fr.file}" for fr in whole_run.frames}
    assert [f["time_s"] for f in frames] == sorted(f["time_s"] for f in frames)  # order kept
    truth = {e.type: e for e in read_events(whole_run.out / "events.json")}
    events = {json.loads(p)["type"]: json.loads(p) for p in subscriber.on("event")}
    assert set(events) == {str(t) for t in EventType}
    alerts = [json.loads(p) for p in subscriber.on("alert")]
    assert [a["type"] for a in alerts] == ["crystallization_start"]
    assert abs(alerts[0]["time_s"] - truth[EventType.CRYSTALLIZATION_START].time_s) <= 3
    assert alerts[0]["t1_c"] is not None
    assert Path(alerts[0]["snapshot"]) == tmp_path / "frames" / "run1" / alerts[0]["file"]
    assert subscriber.on("status")[0] == b"online"

    assert influx.count("furnace_event", "furnace") == 5
    rows = influx.rows('SELECT "t1_c", "mean" FROM "furnace_frame" WHERE "run" = \'run1\'', "furnace")
    assert len(rows) == n and all(r["mean"] is not None for r in rows)
    assert len(stored_events(config.store.path, "run1")) == 5

    assert health == {"alive": True, "ready": True, "reasons": []}
    assert f"furnace_frames_processed_total {n}.0" in metrics
    assert 'furnace_events_total{type="crystallization_start"} 1.0' in metrics
    for step in ("ocr", "analytics", "pipeline", "publish"):
        assert f'furnace_step_seconds_count{{step="{step}"}} {n}.0' in metrics


def test_the_daemon_with_models_publishes_their_outputs_everywhere(
    reference_run: SimulatedRun, tiny_models: Path, mosquitto: Mosquitto, influx: InfluxServer, tmp_path: Path
) -> None:
    config = daemon_config(tmp_path, mosquitto, influx=influx, models=tiny_models)
    subscriber = Subscriber(mosquitto)
    daemon = build_daemon(config)
    daemon.start()
    frames = sorted(reference_run.out.glob("*.jpg"))[420:470]  # 530..579 s: crystallization starts
    try:
        drop_frames_into(frames, tmp_path / "frames" / "run1")
        wait_until(lambda: len(subscriber.on("frame")) >= len(frames), "the frames on MQTT", timeout=180)
        wait_until(lambda: influx.count("furnace_frame", "furnace") >= len(frames), timeout=60)
        metrics = daemon.metrics.render().decode()
    finally:
        daemon.stop()
        subscriber.close()
    docs = [json.loads(p) for p in subscriber.on("frame")]
    assert [d["file"] for d in docs] == [f.name for f in frames]
    for doc in docs:
        assert 500 < doc["t1_image_c"] < 1800 and 0 <= doc["progress_image_pct"] <= 100
        assert 0 <= doc["progress_pct"] <= 100 and doc["progress_basis"] in {"stage", "kinetics", "image"}
        forecast = doc["forecast"]
        assert forecast["horizon_s"] == 10.0 and forecast["change"] >= 0
        assert Path(forecast["image"]) == tmp_path / "forecasts" / "run1" / doc["file"]
        assert Path(forecast["image"]).is_file()
    rows = influx.rows(
        'SELECT "t1_image_c", "progress_pct", "progress_image_pct", "forecast_mean", "forecast_change" '
        'FROM "furnace_frame"',
        "furnace",
    )
    assert len(rows) == len(frames) and all(None not in r.values() for r in rows)
    import sqlite3

    with sqlite3.connect(config.store.path) as db:
        stored = db.execute("SELECT t1_image_c, progress_pct, forecast_mean, forecast_change FROM frames")
        values = stored.fetchall()
    assert len(values) == len(frames) and all(None not in v for v in values)
    assert f'furnace_step_seconds_count{{step="models"}} {len(frames)}.0' in metrics


def test_a_stalled_feed_is_reported_on_mqtt_and_in_health(
    heating_run: SimulatedRun, mosquitto: Mosquitto, tmp_path: Path
) -> None:
    config = daemon_config(tmp_path, mosquitto, stall_s=1.0)
    subscriber = Subscriber(mosquitto)
    daemon = build_daemon(config)
    daemon.start()
    frames = sorted(heating_run.out.glob("*.jpg"))
    try:
        for frame in frames[:2]:
            shutil.copyfile(frame, tmp_path / "frames" / frame.name)
        wait_until(lambda: any(json.loads(p)["stalled"] for p in subscriber.on("feed")), timeout=60)
        health = daemon.health()
        assert not health.ready and health.reasons[0].startswith("feed stalled")
        shutil.copyfile(frames[2], tmp_path / "frames" / frames[2].name)
        wait_until(lambda: not json.loads(subscriber.on("feed")[-1])["stalled"], timeout=60)
    finally:
        daemon.stop()
        subscriber.close()
    assert len(subscriber.on("feed")) == 2  # one message per change, not per check
    late = Subscriber(mosquitto)  # joins afterwards: the broker hands it the retained state
    try:
        wait_until(lambda: bool(late.on("feed")), timeout=30)
        assert [r for t, _, r in late.messages if t == "furnace/rig1/feed"] == [True]
        assert json.loads(late.on("feed")[0])["stalled"] is False
    finally:
        late.close()


def test_broker_restart_and_database_outage_mid_run_lose_nothing(
    heating_run: SimulatedRun, mosquitto_factory, influx: InfluxServer, tmp_path: Path
) -> None:
    broker = mosquitto_factory(persistent=True)  # keeps the test subscriber's session across the restart
    config = daemon_config(tmp_path, broker, influx=influx)
    frames = sorted(heating_run.out.glob("*.jpg"))
    subscriber = Subscriber(broker, clean_start=False)
    daemon = build_daemon(config)
    daemon.start()
    try:
        drop_frames_into(frames[:15], tmp_path / "frames" / "run1")
        wait_until(lambda: len(subscriber.on("frame")) >= 15, timeout=120)
        broker.stop()
        influx.stop()
        drop_frames_into(frames[15:30], tmp_path / "frames" / "run1")
        processed = daemon.metrics.registry.get_sample_value
        wait_until(lambda: (processed("furnace_frames_processed_total") or 0) >= 30, timeout=120)
        broker.start()
        influx.start()
        drop_frames_into(frames[30:], tmp_path / "frames" / "run1")
        wanted = {f"rig1/{run_key_of(tmp_path / 'frames' / 'run1')}/{f.name}" for f in frames}
        wait_until(lambda: {json.loads(p)["id"] for p in subscriber.on("frame")} >= wanted, timeout=120)
        wait_until(lambda: influx.count("furnace_frame", "furnace") >= len(frames), timeout=120)
    finally:
        daemon.stop()
        subscriber.close()
    assert influx.count("furnace_frame", "furnace") == len(frames)


def test_demo_uses_a_configured_broker(mosquitto: Mosquitto, tmp_path: Path, capsys) -> None:
    from monitor.cli import main

    config = tmp_path / "c.yaml"
    config.write_text(f"mqtt:\n  host: {mosquitto.host}\n  port: {mosquitto.port}\n", encoding="utf-8")
    subscriber = Subscriber(mosquitto)
    try:
        assert main(["demo", "--out", str(tmp_path / "demo"), "-c", str(config), "--no-models"]) == 0
    finally:
        subscriber.close()
    printed = capsys.readouterr().out
    assert f"1. The configured MQTT broker {mosquitto.host}:{mosquitto.port}" in printed
    assert "*** ALERT: crystallization_start" in printed
    alerts = [json.loads(p) for p in subscriber.messages_on("furnace/demo/alert")]
    assert [a["type"] for a in alerts] == ["crystallization_start"]
