"""`furnace-monitor run` as a real process: SIGKILL mid-run and a restart deliver every frame at least once
(duplicates carry the same frame id), SIGTERM drains and exits 0 with `offline` retained."""

import json
import re
import signal
import subprocess
import sys
import urllib.request
from pathlib import Path

import yaml

from monitor.ingest.checkpoint import Checkpoint
from monitor.simulate import SimulatedRun
from tests.service.test_daemon import Subscriber, drop_frames_into, run_key_of
from tests.services import wait_until
from tests.sinks.conftest import Mosquitto


def start_daemon(config: Path, log: Path) -> subprocess.Popen:
    return subprocess.Popen(
        [sys.executable, "-m", "monitor", "run", "-c", str(config)],
        stdout=log.open("ab"),
        stderr=subprocess.STDOUT,
    )


def served_port(log: Path, start: int) -> int | None:
    """The port the daemon's `start`-th start (1, 2, ...) serves /healthz on, from its log: it binds port 0,
    so no other process can take the port first."""
    ports = re.findall(
        r"/healthz and /metrics on http://127\.0\.0\.1:(\d+)/", log.read_text(encoding="utf-8")
    )
    return int(ports[start - 1]) if len(ports) >= start else None


def test_kill_restart_and_terminate(heating_run: SimulatedRun, mosquitto: Mosquitto, tmp_path: Path) -> None:
    config = tmp_path / "monitor.yaml"
    config.write_text(
        yaml.safe_dump(
            {
                "rig": "rig1",
                "ingest": {"watch_dir": str(tmp_path / "frames"), "checkpoint_dir": str(tmp_path / "ckpt"),
                           "settle_s": 0.1, "stall_timeout_s": 600},
                "mqtt": {"host": mosquitto.host, "port": mosquitto.port},
                "store": {"path": str(tmp_path / "store.sqlite")},
                "outbox": {"path": str(tmp_path / "outbox.sqlite")},
                "http": {"port": 0},
            }
        ),
        encoding="utf-8",
    )  # fmt: skip
    (tmp_path / "frames").mkdir()
    frames = sorted(heating_run.out.glob("*.jpg"))
    subscriber = Subscriber(mosquitto)
    log = tmp_path / "daemon.log"
    daemon = start_daemon(config, log)
    try:
        wait_until(lambda: subscriber.on("status")[-1:] == [b"online"], timeout=60)
        drop_frames_into(frames[:20], tmp_path / "frames" / "run1")
        wait_until(lambda: len(subscriber.on("frame")) >= 10, timeout=120)
        daemon.kill()  # SIGKILL: no clean-up at all
        daemon.wait()
        wait_until(lambda: subscriber.on("status")[-1:] == [b"offline"], timeout=60)  # the Last Will
        drop_frames_into(frames[20:], tmp_path / "frames" / "run1")

        daemon = start_daemon(config, log)
        run_id = run_key_of(tmp_path / "frames" / "run1")
        wanted = {f"rig1/{run_id}/{f.name}" for f in frames}
        wait_until(lambda: {json.loads(p)["id"] for p in subscriber.on("frame")} >= wanted, timeout=180)
        wait_until(lambda: served_port(log, 2) is not None, "the restarted daemon's health port", timeout=120)
        with urllib.request.urlopen(f"http://127.0.0.1:{served_port(log, 2)}/healthz") as answer:
            assert json.loads(answer.read())["alive"] is True
        daemon.send_signal(signal.SIGHUP)  # reload: the log level, without a restart
        wait_until(lambda: "reloaded: log level" in log.read_text(encoding="utf-8"), timeout=60)
        daemon.send_signal(signal.SIGTERM)
        assert daemon.wait(timeout=60) == 0, log.read_text(encoding="utf-8")[-3000:]
    finally:
        if daemon.poll() is None:
            daemon.kill()
    wait_until(lambda: subscriber.on("status")[-1:] == [b"offline"], timeout=30)
    subscriber.close()

    received = [json.loads(p) for p in subscriber.on("frame")]
    ids = [r["id"] for r in received]
    assert set(ids) == wanted  # every frame at least once
    for frame_id in set(ids):  # a duplicate is the same frame, said again
        copies = [r for r in received if r["id"] == frame_id]
        assert len({(c["time_s"], c["t1_c"]) for c in copies}) == 1
    assert Checkpoint(tmp_path / "ckpt").processed(run_id) == [f.name for f in frames]
    assert "run run1 resumed: " in log.read_text(encoding="utf-8")
    text = log.read_text(encoding="utf-8")
    assert "stopped" in text and "Traceback" not in text
    # SIGTERM with the run still open (not idle yet): its report is written on the way out
    assert (tmp_path / "reports" / run_id / "report.html").is_file()
    assert f"run run1: report of {len(frames)} frames" in text
