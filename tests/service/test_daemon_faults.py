"""Faults inside a running daemon, with the real pipeline, a real Mosquitto and the real store: a model that
fails on one frame costs that frame its outputs of that model only, and a sink with a bug (or whose writer
thread dies) holds up only itself, says so in the health, and gets everything once it works again."""

import json
import logging
import shutil
import sqlite3
import threading
from contextlib import closing
from pathlib import Path
from typing import Any

import pytest

from monitor.ingest.checkpoint import Checkpoint
from monitor.nets.heads.forecast import ForecastHead
from monitor.nets.manifest import ModelError
from monitor.pipeline.process import processor_factory
from monitor.records import FrameResult
from monitor.service.app import build_daemon
from monitor.service.daemon import Daemon
from monitor.service.metrics import Metrics
from monitor.simulate import SimulatedRun
from monitor.sinks.base import RunContext, Sink
from monitor.sinks.delivery import Delivery
from monitor.sinks.outbox import Item, Outbox
from monitor.sinks.registry import build_sinks
from tests.service.test_daemon import Subscriber, daemon_config, drop_frames_into
from tests.services import wait_until
from tests.sinks.conftest import Mosquitto


def stored_files(path: Path) -> list[str]:
    if not path.is_file():
        return []
    with closing(sqlite3.connect(path)) as db:
        return [str(row[0]) for row in db.execute("SELECT file FROM frames ORDER BY idx")]


def test_a_model_failing_on_one_frame_costs_only_its_predictions(
    reference_run: SimulatedRun,
    tiny_models: Path,
    mosquitto: Mosquitto,
    tmp_path: Path,
    caplog: pytest.LogCaptureFixture,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    caplog.set_level(logging.ERROR, logger="monitor.nets.runtime")
    frames = sorted(reference_run.out.glob("*.jpg"))[420:432]
    source = tmp_path / "source"
    source.mkdir()
    for frame in frames:
        shutil.copyfile(frame, source / frame.name)
    bad = source / frames[5].name
    # The forecast head fails on that frame alone, as a model with a bug would. (A frame of another size no
    # longer reaches the models: the ingest flags it first, FlagKind.SIZE_CHANGED.)
    forecast = ForecastHead.predict

    def failing(head: ForecastHead, images: Any, *, names: Any = (), box: Any = None) -> Any:
        if any(file == bad.name for _, file in names):
            raise ModelError(f"cannot forecast {bad.name}")
        return forecast(head, images, names=names, box=box)

    monkeypatch.setattr(ForecastHead, "predict", failing)
    config = daemon_config(tmp_path, mosquitto, models=tiny_models)
    subscriber = Subscriber(mosquitto)
    daemon = build_daemon(config)
    daemon.start()
    try:
        drop_frames_into(sorted(source.glob("*.jpg")), tmp_path / "frames" / "run1")
        wait_until(lambda: len(subscriber.on("frame")) >= len(frames), "every frame on MQTT", timeout=120)
        wait_until(lambda: len(stored_files(config.store.path)) == len(frames), "every frame stored")
        health = daemon.health()
        processed = daemon.metrics.registry.get_sample_value("furnace_frames_processed_total")
    finally:
        daemon.stop()
        subscriber.close()
    docs = {d["file"]: d for d in (json.loads(p) for p in subscriber.on("frame"))}
    assert list(docs) == [f.name for f in frames]
    failed = docs.pop(bad.name)
    # the frame still carries its reading and analytics, and the other model's numbers: only the forecast
    # is missing
    assert failed["t1_c"] is not None and failed["mean"] is not None and failed["stage"]
    assert failed["forecast"] is None
    assert failed["t1_image_c"] is not None and failed["progress_image_pct"] is not None
    # the frames before and after it have them: the daemon went on with the models
    assert all(d["forecast"] is not None and d["t1_image_c"] is not None for d in docs.values())
    logged = [r for r in caplog.records if "failed" in r.getMessage() and bad.name in r.getMessage()]
    assert len(logged) == 1 and logged[0].exc_info is not None
    assert f"cannot forecast {bad.name}" in str(logged[0].exc_info[1])
    assert processed == len(frames) and health.ready, health.reasons


class Flaky(Sink):
    """An output with a bug, as a newly added sink might have: `write` raises KeyError while `broken`;
    `die` ends its writer thread once (SystemExit is not an Exception, so the writer cannot catch it)."""

    name = "flaky"

    def __init__(self) -> None:
        self.broken = True
        self.die = False
        self.received: list[str] = []
        self.lock = threading.Lock()

    def encode(self, context: RunContext, result: FrameResult) -> list[Item]:
        return [Item(result.file)]

    def write(self, payloads: list[str]) -> None:
        with self.lock:
            if self.die:
                self.die = False
                raise SystemExit("the writer thread ends here")
            if self.broken:
                raise KeyError("topic")
            self.received.extend(payloads)


@pytest.mark.filterwarnings("ignore::pytest.PytestUnhandledThreadExceptionWarning")
def test_a_sink_with_a_bug_holds_up_only_itself(
    heating_run: SimulatedRun, mosquitto: Mosquitto, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.ERROR, logger="monitor.sinks.writer")
    config = daemon_config(tmp_path, mosquitto)
    flaky = Flaky()
    sinks = [*build_sinks(config), flaky]  # the real MQTT and store sinks beside it
    delivery = Delivery(sinks, Outbox(config.outbox.path), retry_initial_s=0.05, retry_max_s=0.2)
    daemon = Daemon(
        config, processors=processor_factory(config), delivery=delivery,
        checkpoint=Checkpoint(config.ingest.checkpoint_dir), metrics=Metrics(),
    )  # fmt: skip
    writer = next(w for w in delivery.writers if w.name == "flaky")
    frames = sorted(heating_run.out.glob("*.jpg"))[:10]
    names = [f.name for f in frames]
    subscriber = Subscriber(mosquitto)
    daemon.start()
    try:
        drop_frames_into(frames[:5], tmp_path / "frames" / "run1")
        wait_until(lambda: len(subscriber.on("frame")) == 5, "the frames on MQTT", timeout=120)
        wait_until(
            lambda: stored_files(config.store.path) == names[:5], "the frames in the store", timeout=60
        )
        wait_until(lambda: not daemon.health().ready, "the bug in the health")
        (reason,) = daemon.health().reasons
        assert reason.startswith("flaky: failing on a bug: KeyError: 'topic'") and "5 waiting" in reason
        assert flaky.received == [] and writer.stats().queued == 5 and writer.alive()

        with flaky.lock:  # fixed, but the next write ends the writer thread
            flaky.broken, flaky.die = False, True
        wait_until(lambda: writer.restarts == 1, "the daemon to start the writer again")
        wait_until(lambda: flaky.received == names[:5], "the waiting items, after the restart")

        drop_frames_into(frames[5:], tmp_path / "frames" / "run1")
        wait_until(lambda: flaky.received == names, "the later frames", timeout=120)
        wait_until(
            lambda: len(subscriber.on("frame")) == 10 and stored_files(config.store.path) == names, timeout=60
        )
        health, stats = daemon.health(), writer.stats()
    finally:
        daemon.stop()
        subscriber.close()
    assert health.ready, health.reasons
    assert [json.loads(p)["file"] for p in subscriber.on("frame")] == names
    assert stats.written == 10 and stats.queued == 0 and stats.restarts == 1
    bugs = [r for r in caplog.records if "failed on a bug" in r.getMessage()]
    assert len(bugs) == 1 and "KeyError" in caplog.text  # logged once with its traceback, not per retry
    assert any("writer thread had died; started again" in r.getMessage() for r in caplog.records)
