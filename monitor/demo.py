"""`furnace-monitor demo`: the whole story on a synthetic run, on this machine, with no services to install.

A private Mosquitto is started (Debian's, which `make demo` installs), the daemon watches a folder, the
simulator writes a run into it in accelerated real time, a real MQTT subscriber prints what arrives and the
crystallization alert; then the run is read back in batch, scored against the truth, and reported.
"""

import json
import os
import shutil
import textwrap
import threading
import time
from pathlib import Path

import paho.mqtt.client as mqtt

from monitor.analytics.outputs import write_outputs
from monitor.analytics.result import AnalysisResult
from monitor.config import MonitorConfig, parse_config
from monitor.config.mqtt import MqttConfig
from monitor.evaluation.ocr import format_score, read_truth, score
from monitor.ingest.loader import list_frames
from monitor.overlay.digitize import digitize
from monitor.overlay.factory import build_reader
from monitor.pipeline.batch import analyze_frames
from monitor.pipeline.process import build_processor
from monitor.service.app import build_daemon
from monitor.service.local_broker import LocalBroker
from monitor.simulate import FurnaceProfile, SimulationOptions, simulate
from monitor.simulate.summary import describe_run
from monitor.summary import describe_analysis


def _config(out: Path, mqtt_section: dict[str, object], models_dir: Path | None) -> MonitorConfig:
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
            "models": models,
        },
        env=os.environ,
    )  # fmt: skip


TRAINING_SEED = 100  # the live run uses --seed (default 0): the models never see it
HELDOUT_SEED = 101  # a whole run of its own for the manifest's held-out metrics
# The 1# regressor learns from three programmes and seeds: peaks 1460 / 1500 / 1540 degC, cooling 2.6 / 1.97 /
# 1.6 degC/s. The clear melt glows as bright as 1# (simulate/colour.py), so the hold's 1# and the cooling are
# in the picture; one peak alone would teach every hold to read as that peak. The fast run records a long
# cold tail (down to the 700 degC floor), so the labels reach the coldest frames of a fast programme
# (README, "Learned models").
MORE_RUNS = (
    SimulationOptions(
        seed=102,
        seconds=600,  # the slower cooling ends crystallizing later
        profile=FurnaceProfile(
            start_c=930,
            peak_c=1540,
            peak_at_s=235,
            hold_s=75,
            cool_rate_c_per_s=1.6,
            crystallization_c=1040,
        ),
    ),
    SimulationOptions(
        seed=103,
        seconds=560,  # the faster cooling goes on once solid: 1# down to the 700 degC floor
        profile=FurnaceProfile(
            start_c=910,
            peak_c=1460,
            peak_at_s=215,
            hold_s=90,
            cool_rate_c_per_s=2.6,
            crystallization_c=1065,
        ),
    ),
)


def training_runs(work: Path) -> tuple[list[Path], Path]:
    """The simulated runs the demo models learn from (seed 100 first), and the held-out one."""
    train = [
        simulate(work / f"run_seed{o.seed}", o, progress=True).out
        for o in (SimulationOptions(seed=TRAINING_SEED), *MORE_RUNS)
    ]
    heldout = simulate(
        work / f"run_seed{HELDOUT_SEED}", SimulationOptions(seed=HELDOUT_SEED), progress=True
    ).out
    return train, heldout


def ensure_models(models_dir: Path, work: Path) -> None:
    """Quick models for the demo when the folder has none: trained on every frame of simulated runs and
    scored on the whole run of another seed, none of them the live one, so the manifest's held-out
    metrics and the demo's check on the live run are two runs the models have not seen. (Time blocks of
    the training run would leave the models a quarter fewer frames, and blocks to bridge 120 degC wide.)
    The forecast learns from the first run alone: it needs no other programme and would take twice as long."""
    from monitor.nets.runtime import FORECAST_DIR, REGRESSOR_DIR
    from monitor.nets.train import describe_training, plan_for, train_models

    if all((models_dir / name / "manifest.json").is_file() for name in (REGRESSOR_DIR, FORECAST_DIR)):
        print(f"0. Trained models found in {models_dir} (delete it to train again)")
        return
    print(
        f"0. No trained models in {models_dir}: training quick ones (preset demo) on simulated runs "
        f"(seed {TRAINING_SEED} and two other programmes), held out: a run of seed {HELDOUT_SEED}"
    )
    train, heldout = training_runs(work)
    started = time.perf_counter()
    config = parse_config({}, env={})
    saved = train_models(
        train, models_dir, config=config, plan=plan_for("demo", {"models": ["temperature_progress"]}),
        heldout=[heldout],
    )  # fmt: skip
    saved += train_models(
        train[:1],
        models_dir,
        config=config,
        plan=plan_for("demo", {"models": ["forecast"]}),
        heldout=[heldout],
    )
    print("\n".join("   " + line for line in describe_training(saved).splitlines()))
    print(f"   trained in {time.perf_counter() - started:.0f} s\n")


class _Printer:
    """A real MQTT subscriber that prints a line every 50 frames, every event, and the alert."""

    def __init__(self, config: MqttConfig) -> None:
        self.frames = 0
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
            if self.frames % 50 == 1:
                models = ""
                if doc.get("t1_image_c") is not None:
                    models = f" | image: 1#={doc['t1_image_c']:.0f} progress={doc['progress_pct']:.0f}%"
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
            self.alert_seen.set()

    def close(self) -> None:
        self.client.loop_stop()
        self.client.disconnect()


def run_demo(
    out: Path,
    *,
    seed: int = 0,
    fps: float = 25.0,
    mqtt_config: MqttConfig | None = None,
    models_dir: Path | None = Path("models"),
) -> int:
    """`mqtt_config` (from `demo -c CONFIG` with mqtt enabled) is an external broker that wins over the
    private one; `models_dir` None runs without the learned models."""
    if out.exists():
        shutil.rmtree(out)
    if models_dir is not None:
        ensure_models(models_dir, out / "training")
    run_dir = out / "live" / "run1"
    (out / "live").mkdir(parents=True)
    broker: LocalBroker | None = None
    if mqtt_config is not None and mqtt_config.enabled:
        section = mqtt_config.model_dump(mode="json")
        print(
            f"1. The configured MQTT broker {mqtt_config.host}:{mqtt_config.port}; "
            f"the daemon watches {out / 'live'}"
        )
    else:
        try:
            broker = LocalBroker()
            broker.wait_ready()
            section = {"host": broker.host, "port": broker.port}
            print(
                f"1. A private MQTT broker on {broker.host}:{broker.port}; the daemon watches {out / 'live'}"
            )
        except (FileNotFoundError, TimeoutError) as exc:
            broker, section = None, {"enabled": False}
            print(f"1. No MQTT broker ({exc}): the daemon writes to its local store only")
    config = _config(out, section, models_dir)
    daemon = build_daemon(config)
    printer = _Printer(config.mqtt) if config.mqtt.enabled else None
    daemon.start()
    options = SimulationOptions(seed=seed, realtime=True, fps=fps)
    print(f"\n2. The furnace: a run of {options.seconds} frames written into {run_dir} at {fps:g} frames/s")
    started = time.perf_counter()
    run = simulate(run_dir, options, progress=False)
    deadline = time.monotonic() + 120
    while printer and printer.frames < len(run.frames) and time.monotonic() < deadline:
        time.sleep(0.2)
    daemon.stop()
    if printer:
        printer.close()
    if broker:
        broker.stop()
    print(f"   live part done in {time.perf_counter() - started:.1f} s; store: {config.store.path}\n")
    print(describe_run(run))

    print(
        f"\n3. Reading the overlay of every frame again in batch (engine {config.ocr.engine}), "
        "against the truth"
    )
    began = time.perf_counter()
    rows = digitize(list_frames(run_dir), build_reader(config.overlay, config.ocr), progress=False)
    report = format_score(score(rows, read_truth(run_dir / "truth.csv")), frames=len(rows),
                          seconds=time.perf_counter() - began, limit=5)  # fmt: skip
    print("\n".join("   " + line for line in report.splitlines()))

    print("\n4. The run report: features, stages, thermocouple health, kinetics")
    result = analyze_frames(list_frames(run_dir), build_processor(config), run=run_dir.name, progress=False)
    paths = write_outputs(out / "analysis", result)
    print("\n".join("   " + line for line in describe_analysis(result).splitlines()))
    print(f"\n   true events: {run_dir / 'events.json'}\n   report: {paths['report']}")
    if config.models.enabled and result.predictions:
        _print_model_check(result, run_dir, config.models.dir)
    return 0


def _print_model_check(result: AnalysisResult, run_dir: Path, models_dir: Path) -> None:
    from monitor.evaluation.models import format_score, score_predictions, training_means

    check = score_predictions(
        result.files, result.predictions, run_dir / "truth.csv", train_means=training_means(models_dir)
    )
    print("\n5. The models on this run (a seed they were not trained on), against its truth.csv:")
    print(textwrap.indent(format_score(check), "   "))
