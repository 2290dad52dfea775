"""The live part of the demo: a private Mosquitto, the daemon watching a folder, the simulator writing a run
into it in accelerated real time, and a real MQTT subscriber printing what arrives. Everything it starts
is stopped when it leaves, whatever fails (one ExitStack)."""

import json
import os
import threading
import time
from contextlib import ExitStack
from dataclasses import dataclass
from pathlib import Path

import paho.mqtt.client as mqtt

from monitor.config import MonitorConfig, parse_config
from monitor.config.mqtt import MqttConfig
from monitor.demo.clock import Clock
from monitor.records import ProgressBasis, ProgressEstimate
from monitor.service.app import build_daemon
from monitor.service.http import HealthServer
from monitor.service.local_broker import LocalBroker
from monitor.service.run_reports import WrittenReport
from monitor.simulate import SimulatedRun, SimulationOptions, simulate

FIRST_MESSAGE = "first MQTT message (a frame)"
ALERT = "crystallization alert on MQTT"


def demo_config(out: Path, mqtt_section: dict[str, object], models_dir: Path | None) -> MonitorConfig:
    models = {
        "enabled": models_dir is not None,
        "dir": str(models_dir or "models"),
        "forecast_images": str(out / "forecasts"),
    }
    return parse_config(
        {
            "rig": "demo",
            "ingest": {"watch_dir": str(out / "live"), "checkpoint_dir": str(out / "state" / "checkpoints"),
                       "settle_s": 0.1},
            "mqtt": mqtt_section,
            "store": {"path": str(out / "state" / "furnace.sqlite")},
            "outbox": {"path": str(out / "state" / "outbox.sqlite")},
            "http": {"host": "127.0.0.1", "port": 0},  # any free port: the demo must not collide
            "models": models,
        },
        env=os.environ,
    )  # fmt: skip


class _Printer:
    """A real MQTT subscriber that prints a line every 50 frames, every event, and the alert."""

    def __init__(self, config: MqttConfig, clock: Clock) -> None:
        self.frames = 0
        self.progress: dict[str, ProgressEstimate | None] = {}  # by file, as published
        self.clock = clock
        self.alert_seen = threading.Event()
        self.client = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, client_id="demo-subscriber")
        if config.username:
            password = config.password.get_secret_value() if config.password else None
            self.client.username_pw_set(config.username, password)
        if config.tls.enabled:
            self.client.tls_set(ca_certs=str(config.tls.ca_file) if config.tls.ca_file else None)
        self.client.on_connect = lambda c, *_: c.subscribe(f"{config.base_topic}/demo/#", qos=1)
        self.client.on_message = self._on_message
        self.client.connect(config.host, config.port)
        self.client.loop_start()

    def _on_message(self, _c: object, _u: object, message: mqtt.MQTTMessage) -> None:
        topic = message.topic.rsplit("/", 1)[-1]
        if topic == "status":
            print(f"   [mqtt] status: {message.payload.decode()}")
            return
        doc = json.loads(message.payload)
        if topic == "frame":
            self.frames += 1
            pct, basis = doc.get("progress_pct"), doc.get("progress_basis")
            self.progress[doc["file"]] = None if pct is None else ProgressEstimate(pct, ProgressBasis(basis))
            self.clock.mark(FIRST_MESSAGE)
            if self.frames % 50 == 1:
                models = ""
                if doc.get("progress_pct") is not None:
                    models = f" progress={doc['progress_pct']:.0f}% ({doc['progress_basis']})"
                if doc.get("t1_image_c") is not None:
                    models += f" | image: 1#={doc['t1_image_c']:.0f}"
                if doc.get("forecast"):
                    f = doc["forecast"]
                    models += f" forecast +{f['horizon_s']:g} s change={f['change']:.1f}"
                print(
                    f"   [mqtt] frame {doc['file']}: t={doc['time_s']:.0f} s 1#={doc['t1_c']} "
                    f"2#={doc['t2_c']} stage={doc['stage']} mean={doc['mean']} "
                    f"latency={doc['latency_ms']:.0f} ms{models}"
                )
        elif topic == "event":
            print(
                f"   [mqtt] event {doc['type']} at {doc['time_s']:.0f} s, 1# {doc['t1_c']} degC "
                f"(id {doc['id']})"
            )
        elif topic == "alert":
            print(f"   [mqtt] *** ALERT: {doc['type']} at {doc['time_s']:.0f} s, 1# {doc['t1_c']} degC ***")
            if doc["type"] == "crystallization_start":
                self.clock.mark(ALERT)
            self.alert_seen.set()

    def close(self) -> None:
        self.client.loop_stop()
        self.client.disconnect()


@dataclass(frozen=True, slots=True)
class LiveRun:
    run: SimulatedRun
    config: MonitorConfig
    broker: tuple[str, int] | None  # where the topics were published (host, port)
    page: str | None  # the daemon's http address while it ran
    report: WrittenReport | None  # the run's report, which the daemon wrote when it stopped
    progress: dict[str, ProgressEstimate | None]  # each frame's progress as published (empty without MQTT)


def run_live(
    out: Path,
    *,
    seed: int,
    fps: float,
    clock: Clock,
    mqtt_config: MqttConfig | None,
    models_dir: Path | None,
) -> LiveRun:
    """The daemon and a broker up, a run written into the watched folder, every frame's message awaited;
    then everything stopped (also when any step fails)."""
    run_dir = out / "live" / "run1"
    (out / "live").mkdir(parents=True)
    with ExitStack() as stack:
        if mqtt_config is not None and mqtt_config.enabled:
            section = mqtt_config.model_dump(mode="json")
            print(f"1. The configured MQTT broker {mqtt_config.host}:{mqtt_config.port}; ", end="")
        else:
            try:
                broker = LocalBroker()
                stack.callback(broker.stop)
                broker.wait_ready()
                section = {"host": broker.host, "port": broker.port}
                print(f"1. A private MQTT broker (pid {broker.pid}) on {broker.host}:{broker.port}; ", end="")
            except (FileNotFoundError, TimeoutError) as exc:
                section = {"enabled": False}
                print(f"1. No MQTT broker ({exc}): the daemon writes to its local store only; ", end="")
        print(f"the daemon watches {out / 'live'}")
        config = demo_config(out, section, models_dir)
        if config.mqtt.enabled:
            print(
                f"   watch its topics from another terminal: mosquitto_sub -h {config.mqtt.host} "
                f"-p {config.mqtt.port} -t '{config.mqtt.base_topic}/#' -v"
            )
        daemon = build_daemon(config)
        page = None
        if config.http.enabled:
            http = HealthServer(
                config.http.host, config.http.port, health=daemon.health, metrics=daemon.metrics.render
            )
            http.start()
            stack.callback(http.stop)
            page = f"http://{config.http.host}:{http.port}/"
            print(f"   its page while it runs: {page}")
        printer = _Printer(config.mqtt, clock) if config.mqtt.enabled else None
        if printer is not None:
            stack.callback(printer.close)
        daemon.start()
        stack.callback(daemon.stop)
        options = SimulationOptions(seed=seed, realtime=True, fps=fps)
        print(
            f"\n2. The furnace: a run of {options.seconds} frames written into {run_dir} at {fps:g} frames/s"
        )
        started = time.perf_counter()
        run = simulate(run_dir, options, progress=False)
        deadline = time.monotonic() + 120
        while printer and printer.frames < len(run.frames) and time.monotonic() < deadline:
            time.sleep(0.2)
    print(f"   live part done in {time.perf_counter() - started:.1f} s; store: {config.store.path}")
    where = (config.mqtt.host, config.mqtt.port) if config.mqtt.enabled else None
    report = daemon.reports.last if daemon.reports is not None else None
    progress = dict(printer.progress) if printer is not None else {}
    return LiveRun(run=run, config=config, broker=where, page=page, report=report, progress=progress)
