"""A real daemon (store sink, and MQTT when a test needs it) on a watched folder in tmp_path, with what a
fault-injection test looks at: every FrameResult the daemon made, the store's rows, the log records and
/healthz's verdict (`Daemon.health()`)."""

import logging
import sqlite3
from collections.abc import Iterator
from contextlib import closing
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import cv2
import numpy as np
import pytest

from monitor.config import parse_config
from monitor.ingest.checkpoint import Checkpoint
from monitor.ingest.identity import FrameArrival
from monitor.pipeline.process import processor_factory
from monitor.pipeline.session import ProcessorFactory
from monitor.records import FrameResult
from monitor.service.daemon import Daemon
from monitor.service.metrics import Metrics
from monitor.simulate import SimulatedRun
from monitor.sinks.delivery import Delivery
from monitor.sinks.outbox import Outbox
from monitor.sinks.registry import build_sinks
from tests.services import wait_until


@dataclass
class Rig:
    """The daemon under test and what it did."""

    tmp: Path
    daemon: Daemon
    run: SimulatedRun  # the good frames (320x240 JPEGs, 0110.jpg on)
    caplog: pytest.LogCaptureFixture
    results: list[FrameResult] = field(default_factory=list)

    @property
    def watch(self) -> Path:
        return Path(self.daemon.config.ingest.watch_dir)

    def good(self, second: int) -> Path:
        return self.run.out / f"{second:04d}.jpg"

    def drop(self, name: str, data: bytes) -> Path:
        """Write a file the way a camera PC does: a dot temp file, then a rename."""
        self.watch.mkdir(parents=True, exist_ok=True)
        tmp = self.watch / f".{name}.tmp"
        tmp.write_bytes(data)
        return tmp.replace(self.watch / name)

    def drop_good(self, *seconds: int) -> None:
        for s in seconds:
            self.drop(f"{s:04d}.jpg", self.good(s).read_bytes())

    def result(self, name: str) -> FrameResult:
        wait_until(lambda: any(r.file == name for r in self.results), f"{name} processed")
        return [r for r in self.results if r.file == name][-1]

    def stored(self) -> dict[str, dict[str, Any]]:
        """file -> its row in the store (flags as text, frame_error)."""
        with closing(sqlite3.connect(self.daemon.config.store.path)) as db:
            db.row_factory = sqlite3.Row
            return {r["file"]: dict(r) for r in db.execute("SELECT file, flags, frame_error FROM frames")}

    def wait_stored(self, *names: str) -> dict[str, dict[str, Any]]:
        wait_until(lambda: set(names) <= set(self._stored_or_empty()), f"{names} in the store")
        return self.stored()

    def _stored_or_empty(self) -> dict[str, dict[str, Any]]:
        try:
            return self.stored()
        except sqlite3.Error:
            return {}

    def tracebacks(self) -> list[str]:
        return [r.getMessage() for r in self.caplog.records if r.exc_info]

    def logged(self, text: str) -> list[str]:
        return [r.getMessage() for r in self.caplog.records if text in r.getMessage()]


def config_data(tmp: Path, **ingest: Any) -> dict[str, Any]:
    return {
        "rig": "rig1",
        "ingest": {"watch_dir": str(tmp / "frames"), "checkpoint_dir": str(tmp / "state" / "ckpt"),
                   "settle_s": 0.1, "stall_timeout_s": 600, **ingest},
        "mqtt": {"enabled": False},
        "store": {"path": str(tmp / "state" / "store.sqlite")},
        "outbox": {"path": str(tmp / "state" / "outbox.sqlite")},
    }  # fmt: skip


@pytest.fixture(scope="session")
def processors() -> ProcessorFactory:
    """The OCR engines, loaded once for the whole suite (they keep no run state; each run gets a fresh
    pipeline from the factory)."""
    return processor_factory(parse_config({}, env={}))


@pytest.fixture
def rig_factory(
    heating_run: SimulatedRun, processors: ProcessorFactory, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> Iterator[Any]:
    """`rig_factory(data=None)`: a started daemon on `config_data(tmp_path)` (or `data`); stopped after."""
    caplog.set_level(logging.INFO)
    started: list[Daemon] = []

    def make(data: dict[str, Any] | None = None, env: dict[str, str] | None = None) -> Rig:
        config = parse_config(data or config_data(tmp_path), env=env or {})
        Path(config.ingest.watch_dir).mkdir(parents=True, exist_ok=True)
        outbox = Outbox(config.outbox.path, max_items=config.outbox.max_items)
        daemon = Daemon(
            config, processors=processors, delivery=Delivery(build_sinks(config), outbox),
            checkpoint=Checkpoint(config.ingest.checkpoint_dir), metrics=Metrics(),
        )  # fmt: skip
        rig = Rig(tmp_path, daemon, heating_run, caplog)
        process = daemon.process

        def recorded(arrival: FrameArrival) -> FrameResult:  # the real step, its result kept for the test
            result = process(arrival)
            rig.results.append(result)
            return result

        daemon.process = recorded  # type: ignore[method-assign]
        daemon.start()
        started.append(daemon)
        return rig

    yield make
    for daemon in started:
        if not daemon.stop_event.is_set():
            daemon.stop()


def resized_jpeg(source: Path, size: tuple[int, int]) -> bytes:
    image = cv2.resize(cv2.imread(str(source)), size)
    ok, buf = cv2.imencode(".jpg", image)
    assert ok
    return buf.tobytes()


def bomb_jpeg(width: int, height: int) -> bytes:
    """A small, whole JPEG whose header declares width x height (what a decompression bomb does)."""
    ok, buf = cv2.imencode(".jpg", np.full((64, 64, 3), 128, np.uint8))
    assert ok
    data = bytearray(buf.tobytes())
    sof = data.find(b"\xff\xc0")
    data[sof + 5 : sof + 9] = height.to_bytes(2, "big") + width.to_bytes(2, "big")
    return bytes(data)
