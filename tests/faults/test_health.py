"""/healthz tells the truth (issue 16, "Health"): each fault fed to a running daemon makes `Daemon.health()`
not ready with a short, stable reason (no secret in it), for as long as the fault lasts; the daemon keeps
running, no good frame is lost, and no traceback is logged. Idle is ready."""

import sqlite3
from contextlib import closing
from pathlib import Path

import pytest

from tests.faults.harness import config_data
from tests.services import wait_until
from tests.sinks.conftest import Mosquitto

pytestmark = pytest.mark.faults


def test_idle_is_ready_and_a_quiet_feed_is_a_stall_only_while_a_run_is_in_progress(
    rig_factory, tmp_path: Path
) -> None:
    """Fed: nothing (idle), then two frames of a run that stops mid-heating. Seen: ready while idle (today:
    503 "feed stalled" forever, so Docker called an idle container unhealthy); "feed stalled: ..." while the
    run is in progress; ready again once the run is retired as idle."""
    rig = rig_factory(config_data(tmp_path, stall_timeout_s=0.3, session_idle_s=2.0))
    wait_until(lambda: rig.daemon.watcher.running, "the watcher running")
    health = rig.daemon.health()
    assert (health.alive, health.ready, health.reasons) == (True, True, ())
    rig.drop_good(110, 111)
    rig.result("0111.jpg")
    wait_until(lambda: not rig.daemon.health().ready, "the stall reported")
    assert rig.daemon.health().reasons == ("feed stalled: no frame for more than 0.3 s",)
    wait_until(lambda: not rig.daemon.sessions, "the run retired as idle")
    assert rig.daemon.health().ready and rig.tracebacks() == []


def test_frames_failing_in_a_row_make_it_not_ready_until_one_succeeds(rig_factory, tmp_path: Path) -> None:
    """Fed: three files in a row that are no images (ingest.failures_not_ready: 3). Seen: not ready, "frames
    failing: 3 in a row"; a good frame after them makes it ready again."""
    rig = rig_factory(config_data(tmp_path, failures_not_ready=3))
    rig.drop_good(110)
    for second in (111, 112, 113):
        rig.drop(f"{second:04d}.jpg", b"this is not a picture")
    rig.result("0113.jpg")
    assert rig.daemon.health().reasons == ("frames failing: 3 in a row",)
    rig.drop_good(114)
    rig.result("0114.jpg")
    assert rig.daemon.health().ready
    assert {"0110.jpg", "0114.jpg"} <= set(rig.wait_stored("0110.jpg", "0114.jpg"))
    assert rig.tracebacks() == []


def test_an_unwritable_checkpoint_folder_is_not_ready_with_one_log_line(rig_factory, tmp_path: Path) -> None:
    """Fed: ingest.checkpoint_dir under a file (it cannot be made: as with no permission, even for root).
    Today every frame logged "processing failed" with a traceback while /healthz said ready. Seen: one log
    line, "checkpoint not writable: Not a directory", and every frame still processed and stored."""
    (tmp_path / "blocker").write_text("a file, not a folder", encoding="utf-8")
    data = config_data(tmp_path)
    data["ingest"]["checkpoint_dir"] = str(tmp_path / "blocker" / "ckpt")
    rig = rig_factory(data)
    rig.drop_good(110, 111, 112)
    stored = rig.wait_stored("0110.jpg", "0111.jpg", "0112.jpg")
    assert all(row["frame_error"] is None for row in stored.values())
    wait_until(lambda: not rig.daemon.health().ready, "the checkpoint fault reported")
    assert rig.daemon.health().reasons == ("checkpoint not writable: Not a directory",)
    assert len(rig.logged("cannot be written")) == 1
    assert rig.logged("processing failed") == [] and rig.tracebacks() == []


def test_a_store_that_cannot_be_written_is_not_ready_then_catches_up(rig_factory, tmp_path: Path) -> None:
    """Fed: the store's frames table dropped behind the daemon's back, then made again. Seen: not ready,
    "store: cannot write: no such table: frames ..." (no path in it); then ready, and every frame stored."""
    rig = rig_factory()
    rig.drop_good(110)
    rig.wait_stored("0110.jpg")
    store = Path(rig.daemon.config.store.path)
    with closing(sqlite3.connect(store)) as db:
        schema = db.execute("SELECT sql FROM sqlite_master WHERE name = 'frames'").fetchone()[0]
        db.execute("DROP TABLE frames")
        db.commit()
    rig.drop_good(111, 112)
    wait_until(lambda: not rig.daemon.health().ready, "the store fault reported")
    (reason,) = rig.daemon.health().reasons
    assert reason.startswith("store: cannot write: no such table: frames") and str(store) not in reason
    with closing(sqlite3.connect(store)) as db:
        db.execute(schema)
        db.commit()
    wait_until(lambda: rig.daemon.health().ready, "the store writable again")
    assert {"0111.jpg", "0112.jpg"} <= set(rig.wait_stored("0111.jpg", "0112.jpg"))
    assert rig.daemon.watcher.running and rig.tracebacks() == []


def test_a_misconfigured_sink_is_not_ready_and_never_shows_the_secret(
    rig_factory, mosquitto_factory, tmp_path: Path
) -> None:
    """Fed: a real Mosquitto that wants user `u`, and the wrong password in FURNACE_MQTT_PASSWORD. Seen:
    not ready, "mqtt: broker ... refused the connection (Not authorized): check mqtt.username ...", without
    the password; the frames wait in the outbox and the store still gets them."""
    broker: Mosquitto = mosquitto_factory(users={"u": "right-password"})
    data = config_data(tmp_path)
    data["mqtt"] = {"host": broker.host, "port": broker.port, "username": "u"}
    rig = rig_factory(data, env={"FURNACE_MQTT_PASSWORD": "wrong-SECRET-pw"})
    rig.drop_good(110)
    rig.wait_stored("0110.jpg")
    wait_until(lambda: any("refused" in r for r in rig.daemon.health().reasons), "the refusal reported")
    reasons = rig.daemon.health().reasons
    assert any(r.startswith("mqtt: broker") and "check mqtt.username" in r for r in reasons)
    assert "SECRET" not in repr(reasons) and not rig.logged("SECRET")
    assert rig.tracebacks() == []
