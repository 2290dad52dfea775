"""Measure the disk a running daemon's state grows by per 1000 frames: the SQLite store, the outbox and the
checkpoints. A real daemon (store sink; MQTT too when --mqtt HOST:PORT names a broker) takes 1000 simulated
320x240 frames in two runs of 500, then the state folder's files are summed up.

    PYTHONPATH=. .venv/bin/python docs/disk_growth.py [--frames 1000] [--mqtt 127.0.0.1:1883]
"""

import argparse
import shutil
import sqlite3
import tempfile
import time
from pathlib import Path

from monitor.config import parse_config
from monitor.service.app import build_daemon
from monitor.simulate import SimulationOptions, simulate
from monitor.sinks.store import stored_runs


def sizes(folder: Path) -> dict[str, int]:
    """Bytes on disk per part: the store, the outbox (each with its WAL) and the checkpoint logs."""
    parts = {"store": 0, "outbox": 0, "checkpoints": 0}
    for path in folder.rglob("*"):
        if path.is_file():
            part = "checkpoints" if "ckpt" in path.parts else path.name.split(".")[0]
            parts[part] = parts.get(part, 0) + path.stat().st_blocks * 512
    return parts


def stored(store: Path) -> int:
    try:
        return sum(r["frames"] for r in stored_runs(store))
    except (FileNotFoundError, sqlite3.Error):
        return 0


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--frames", type=int, default=1000, help="frames in all, in two runs")
    parser.add_argument("--mqtt", help="HOST:PORT of a broker to publish to as well (default: store only)")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp_name:
        tmp = Path(tmp_name)
        half = args.frames // 2
        run = simulate(
            tmp / "sim", SimulationOptions(seconds=half, width=320, height=240, workers=1), progress=False
        )
        mqtt = {"enabled": False}
        if args.mqtt:
            host, port = args.mqtt.rsplit(":", 1)
            mqtt = {"host": host, "port": int(port)}
        state = tmp / "state"
        config = parse_config(
            {"ingest": {"watch_dir": str(tmp / "frames"), "checkpoint_dir": str(state / "ckpt"),
                        "settle_s": 0.1},
             "mqtt": mqtt, "store": {"path": str(state / "store.sqlite")},
             "outbox": {"path": str(state / "outbox.sqlite")}, "http": {"enabled": False}},
            env={},
        )  # fmt: skip
        for name in ("runA", "runB"):
            shutil.copytree(run.out, tmp / "frames" / name, ignore=shutil.ignore_patterns("*.json", "*.csv"))
        daemon = build_daemon(config)
        started = time.monotonic()
        daemon.start()
        try:
            while stored(state / "store.sqlite") < 2 * half:
                time.sleep(0.5)
            while any(daemon.delivery.outbox.queued(w.name) for w in daemon.delivery.writers):
                time.sleep(0.5)
        finally:
            daemon.stop()
        parts = sizes(state)
        total = sum(parts.values())
        per_1000 = total * 1000 / (2 * half)
        print(f"{2 * half} frames in {time.monotonic() - started:.0f} s; state on disk: "
              + ", ".join(f"{k} {v / 1e6:.2f} MB" for k, v in parts.items()))  # fmt: skip
        print(f"growth per 1000 frames: {per_1000 / 1e6:.2f} MB")


if __name__ == "__main__":
    main()
