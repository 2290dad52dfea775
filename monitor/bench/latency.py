"""End-to-end latency as the service runs: `furnace-monitor run` as its own process watching a folder,
a private Mosquitto, a real MQTT subscriber here; frames written the way a camera PC does (temp file +
rename) at a steady pace; latency = the `frame` message's arrival minus the moment the rename returned."""

import json
import logging
import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import paho.mqtt.client as mqtt
import yaml

from monitor.bench.machine import cpu_seconds, peak_rss_mb, rss_mb
from monitor.bench.stats import OTHER, percentiles, shares, step_means, with_remainder
from monitor.bench.workload import Workload
from monitor.service.local_broker import LocalBroker

log = logging.getLogger(__name__)

RIG, RUN = "bench", "run1"
START_TIMEOUT_S = 180.0  # importing PaddleOCR and torch and loading the models on a busy 2-core machine


class DaemonError(RuntimeError):
    """The daemon did not come up, died, or did not deliver in time; the message ends with its log."""


@dataclass(frozen=True, slots=True)
class Arrival:
    topic: str
    payload: bytes
    at: float  # time.monotonic() when the message reached the callback


class Subscriber:
    """A real MQTT client on furnace/<rig>/#; records each message with its arrival time."""

    def __init__(self, host: str, port: int) -> None:
        self.arrivals: list[Arrival] = []
        self._lock = threading.Lock()
        self.client = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, client_id="furnace-bench-subscriber")
        self.client.on_connect = lambda c, *_: c.subscribe(f"furnace/{RIG}/#", qos=1)
        self.client.on_message = self._on_message
        self.client.connect(host, port)
        self.client.loop_start()

    def _on_message(self, _c: object, _u: object, message: mqtt.MQTTMessage) -> None:
        at = time.monotonic()  # first, before anything else can delay it
        with self._lock:
            self.arrivals.append(Arrival(message.topic.rsplit("/", 1)[-1], bytes(message.payload), at))

    def on(self, leaf: str) -> list[Arrival]:
        with self._lock:
            return [a for a in self.arrivals if a.topic == leaf]

    def status(self) -> str | None:
        statuses = self.on("status")
        return statuses[-1].payload.decode() if statuses else None

    def close(self) -> None:
        self.client.loop_stop()
        self.client.disconnect()


def daemon_config(work: Path, broker: LocalBroker, models_dir: Path) -> Path:
    """The default configuration, except: models on, everything the daemon writes under `work`, MQTT to
    the private broker, the HTTP endpoint on a free port."""
    state = work / "state"
    data = {
        "rig": RIG,
        "ingest": {"watch_dir": str(work / "watch"), "checkpoint_dir": str(state / "checkpoints")},
        "mqtt": {"host": broker.host, "port": broker.port},
        "store": {"path": str(state / "furnace.sqlite")},
        "outbox": {"path": str(state / "outbox.sqlite")},
        "http": {"port": 0},
        "models": {"enabled": True, "dir": str(models_dir.resolve())},
    }
    path = work / "monitor.yaml"
    path.write_text(yaml.safe_dump(data, sort_keys=False), encoding="utf-8")
    return path


class DaemonProcess:
    """`furnace-monitor run -c CONFIG` as a child process, its output appended to `log_file`."""

    def __init__(self, config: Path, log_file: Path) -> None:
        self.log_file = log_file
        self.started = time.monotonic()
        # the console script's own entry point, with this interpreter: the same code, whatever PATH holds
        command = [sys.executable, "-m", "monitor", "run", "-c", str(config)]
        with log_file.open("ab") as out:
            self.process = subprocess.Popen(command, stdout=out, stderr=subprocess.STDOUT)
        self.pid = self.process.pid

    def wait_until(self, condition: Callable[[], bool], timeout_s: float, what: str) -> None:
        deadline = time.monotonic() + timeout_s
        while not condition():
            if self.process.poll() is not None:
                raise DaemonError(
                    f"the daemon exited ({self.process.returncode}) before {what}:\n{self.log()}"
                )
            if time.monotonic() > deadline:
                raise DaemonError(f"no {what} within {timeout_s:.0f} s:\n{self.log()}")
            time.sleep(0.05)

    def terminate(self, timeout_s: float = 60.0) -> int:
        """SIGTERM (drain, flush, `offline`), as systemd stops it; SIGKILL if it hangs."""
        self.process.send_signal(signal.SIGTERM)
        try:
            return self.process.wait(timeout=timeout_s)
        finally:
            self.kill()

    def kill(self) -> None:
        if self.process.poll() is None:
            self.process.kill()
            self.process.wait()

    def log(self, chars: int = 3000) -> str:
        return _tail(self.log_file, chars)

    def errors_logged(self) -> int:
        return sum(1 for line in self.log(10**8).splitlines() if " ERROR " in line or "Traceback" in line)


def _tail(path: Path, chars: int = 3000) -> str:
    try:
        return path.read_text(encoding="utf-8", errors="replace")[-chars:]
    except OSError:
        return "(no log)"


def write_paced(frames: list[Path], folder: Path, rate: float) -> dict[str, float]:
    """Each frame as a camera PC writes it (hidden temp file, then an atomic rename), frame i at
    i / rate s; returns each file's time.monotonic() just after its rename."""
    data = [(p.name, p.read_bytes()) for p in frames]  # read first: disk reads must not shift the pace
    written: dict[str, float] = {}
    t0 = time.monotonic()
    for i, (name, content) in enumerate(data):
        delay = t0 + i / rate - time.monotonic()
        if delay > 0:
            time.sleep(delay)
        tmp = folder / f".{name}.tmp"
        tmp.write_bytes(content)
        os.replace(tmp, folder / name)
        written[name] = time.monotonic()
    return written


def delivery(written: list[str], received: list[str]) -> dict[str, Any]:
    """Every file once and in the order written? (`ok` is all three.)"""
    seen = set(received)
    first: list[str] = []
    for name in received:
        if name not in first:
            first.append(name)
    lost = [n for n in written if n not in seen]
    unexpected = sorted(seen - set(written))
    in_order = [n for n in first if n in set(written)] == [n for n in written if n in seen]
    duplicates = len(received) - len(seen)
    return {
        "written": len(written), "received": len(received), "lost": lost, "unexpected": unexpected,
        "duplicates": duplicates, "in_order": in_order,
        "ok": not lost and not unexpected and duplicates == 0 and in_order,
    }  # fmt: skip


def measure_latency(workload: Workload, models_dir: Path, work: Path, *, rate: float) -> dict[str, Any]:
    work.mkdir(parents=True, exist_ok=True)
    broker = LocalBroker()
    try:
        broker.wait_ready()
        return _with_broker(workload, models_dir, work, broker, rate=rate)
    finally:
        broker.stop()


def _with_broker(
    workload: Workload, models_dir: Path, work: Path, broker: LocalBroker, *, rate: float
) -> dict[str, Any]:
    config = daemon_config(work, broker, models_dir)
    folder = work / "watch" / RUN
    folder.mkdir(parents=True, exist_ok=True)
    subscriber = Subscriber(broker.host, broker.port)
    daemon = DaemonProcess(config, work / "daemon.log")
    try:
        daemon.wait_until(lambda: subscriber.status() == "online", START_TIMEOUT_S, "status online")
        startup_s = time.monotonic() - daemon.started
        cpu_ready = cpu_seconds(daemon.pid)
        log.info("daemon online in %.1f s; writing %d frames at %g/s", startup_s, len(workload.all), rate)
        written = write_paced(workload.all, folder, rate)

        def everything() -> bool:
            return len(subscriber.on("frame")) >= len(written)

        daemon.wait_until(everything, 60.0 + 2.0 * len(written), "frame message for every file")
        time.sleep(0.5)  # a duplicate would come now
        # read before stopping: /proc/<pid> is gone once it exits
        peak, rss, cpu_done = peak_rss_mb(daemon.pid), rss_mb(daemon.pid), cpu_seconds(daemon.pid)
        exit_code = daemon.terminate()
    finally:
        daemon.kill()
        subscriber.close()
    frames = subscriber.on("frame")
    return {
        **figures(frames, written, measured=[p.name for p in workload.measured]),
        "delivery": delivery(list(written), [json.loads(a.payload)["file"] for a in frames]),
        "daemon": {
            "peak_rss_mb": peak,
            "rss_at_end_mb": rss,
            "startup_s": round(startup_s, 1),
            "cpu_ms_per_frame": None
            if cpu_ready is None or cpu_done is None
            else round(1000.0 * (cpu_done - cpu_ready) / len(written), 1),
            "exit_code": exit_code,
            "errors_logged": daemon.errors_logged(),
        },
        "rate_fps": rate,
    }


def figures(frames: list[Arrival], written: dict[str, float], *, measured: list[str]) -> dict[str, Any]:
    """Latency percentiles of the measured frames, and where the time goes: the daemon's own step times
    (`step_ms`) and the rest of the way (watcher, queue, sinks, broker) as OTHER."""
    docs: dict[str, tuple[float, dict[str, Any]]] = {}
    for arrival in frames:
        doc = json.loads(arrival.payload)
        docs.setdefault(doc["file"], (arrival.at, doc))  # the first copy: a duplicate comes later
    e2e, parts = [], []
    for name in measured:
        if name in docs:
            at, doc = docs[name]
            total = (at - written[name]) * 1000.0
            e2e.append(total)
            parts.append(with_remainder(doc.get("step_ms") or {}, total))
    warm = [round((docs[n][0] - written[n]) * 1000.0, 1) for n in written if n not in measured and n in docs]
    if not e2e:
        raise DaemonError("no measured frame arrived")
    means = step_means(parts)
    means = {**{k: v for k, v in means.items() if k != OTHER}, OTHER: means.get(OTHER, 0.0)}
    summary = percentiles(e2e)
    return {
        "latency_ms": summary,
        "latency_stages": shares(means, sum(e2e) / len(e2e)),
        "warmup_latency_ms": warm,
    }
