"""The store's retention (`store.retention_days`): runs whose last frame is older go, with their frames and
events; newer runs and everything else stay; no setting keeps everything."""

import sqlite3
from contextlib import closing
from pathlib import Path

from monitor.config.service import StoreConfig
from monitor.records import EventType, FrameResult, Stage, StageEvent
from monitor.sinks.base import RunContext
from monitor.sinks.store import StoreSink, stored_runs

DAY = 86_400.0
NOW = 1_750_000_000.0


def _frame(i: int, *, event: bool = False) -> FrameResult:
    return FrameResult(
        index=i, file=f"{i:04d}.jpg", time_s=float(i), reading=None, frame_error=None, features=None,
        stage=Stage.HEATING, latency_ms=1.0, crystal_fraction=None,
        events=(StageEvent(EventType.MELTING_START, float(i), f"{i:04d}.jpg", 900.0),) if event else (),
    )  # fmt: skip


def _fill(sink: StoreSink) -> None:
    """Three runs: ended 10 days, 2 days and 1 hour before NOW, each with 3 frames and an event."""
    for name, ended in (("old", NOW - 10 * DAY), ("recent", NOW - 2 * DAY), ("live", NOW - 3600)):
        context = RunContext(rig="rig1", run=name, started_at=ended - 2.0)
        sink.write([item.payload for i in range(3) for item in sink.encode(context, _frame(i, event=i == 1))])


def _count(path: Path, table: str) -> int:
    with closing(sqlite3.connect(path)) as db:
        return int(db.execute(f"SELECT COUNT(*) FROM {table}").fetchone()[0])


def test_runs_older_than_the_retention_go_with_their_frames_and_events(tmp_path: Path) -> None:
    sink = StoreSink(StoreConfig(path=tmp_path / "s.sqlite", retention_days=3))
    sink.open()
    try:
        _fill(sink)
        assert sink.prune(now=NOW) == 1
        assert sink.prune(now=NOW) == 0  # nothing left to delete
    finally:
        sink.close()
    assert [r["run"] for r in stored_runs(tmp_path / "s.sqlite")] == ["recent", "live"]
    assert (_count(tmp_path / "s.sqlite", "frames"), _count(tmp_path / "s.sqlite", "events")) == (6, 2)


def test_without_a_retention_everything_is_kept(tmp_path: Path) -> None:
    sink = StoreSink(StoreConfig(path=tmp_path / "s.sqlite"))
    sink.open()
    try:
        _fill(sink)
        assert sink.prune(now=NOW + 3650 * DAY) == 0
    finally:
        sink.close()
    assert len(stored_runs(tmp_path / "s.sqlite")) == 3
