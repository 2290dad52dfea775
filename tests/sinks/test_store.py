"""StoreSink: runs, frames and events in SQLite (encode, then write a batch in one transaction), replays
without copies, recycled run names kept apart, the digitize table exported."""

import csv
import json
import sqlite3
from contextlib import closing
from dataclasses import asdict, replace
from pathlib import Path

import pytest

from monitor.config.service import StoreConfig
from monitor.overlay.digitize import DigitizedRow
from monitor.overlay.table import COLUMNS, read_table, write_table
from monitor.records import (
    EventType,
    FieldRead,
    Forecast,
    FrameResult,
    OverlayReading,
    ProgressBasis,
    ProgressEstimate,
    Stage,
    StageEvent,
)
from monitor.sinks.base import Retry, RunContext
from monitor.sinks.store import StoreSink, export_table, stored_events, stored_runs
from tests.first_heads import first_heads

CONTEXT = RunContext(rig="rig-1", run="2024-05-01T10-00", started_at=1_714_557_600.0)
START_EVENT = StageEvent(EventType.CRYSTALLIZATION_START, 541.0, "0541.jpg", 1052.0)


def field(value: int | None, confidence: float = 0.98765, error: str | None = None) -> FieldRead:
    return FieldRead(raw="" if value is None else str(value), value=value, confidence=confidence, error=error)


def make_frames() -> list[FrameResult]:
    """A good frame, one with a flagged 2#, one that could not be decoded, one with an event."""
    readings: list[OverlayReading | None] = [
        OverlayReading(time=field(540), t1=field(1050), t2=field(1041)),
        OverlayReading(time=field(541), t1=field(1052), t2=field(None, 0.3, "jump of 400 °C")),
        None,
        OverlayReading(
            time=field(543),
            t1=FieldRead("1058", 1058, 0.9, warning="confirmed jump", reread=True),
            t2=field(1049),
        ),
    ]
    return [
        FrameResult(
            index=i,
            file=f"{540 + i:04d}.jpg",
            time_s=540.0 + i,
            reading=reading,
            frame_error="cannot decode JPEG" if reading is None else None,
            features=None,
            stage=Stage.CRYSTALLIZING if i == 3 else Stage.COOLING,
            events=(START_EVENT,) if i == 3 else (),
            crystal_fraction=None if i < 3 else 0.05,
            latency_ms=10.0 + i,
        )
        for i, reading in enumerate(readings)
    ]


def write(sink: StoreSink, frames: list[FrameResult], context: RunContext = CONTEXT) -> None:
    """What the store's writer does with a batch from the outbox."""
    sink.write([item.payload for frame in frames for item in sink.encode(context, frame)])


@pytest.fixture
def store(tmp_path: Path) -> StoreSink:
    sink = StoreSink(StoreConfig(path=tmp_path / "db" / "furnace.sqlite"))
    sink.open()
    write(sink, make_frames())
    return sink


def test_frames_runs_and_events_stored(store: StoreSink) -> None:
    with sqlite3.connect(store.path) as db:
        assert db.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
        rows = db.execute("SELECT file, time_s, t1_c, t2_c, stage, flags FROM frames ORDER BY idx").fetchall()
    assert rows[0] == ("0540.jpg", 540.0, 1050.0, 1041.0, "cooling", "")
    assert rows[1][3] is None and rows[1][5] == "t2: jump of 400 °C"
    assert rows[2][2:] == (None, None, "cooling", "frame: cannot decode JPEG")
    assert rows[3][4] == "crystallizing"

    (run,) = store.runs()
    assert run == {
        "run": CONTEXT.run, "rig": "rig-1", "started_at": CONTEXT.started_at,
        "first_time_s": 540.0, "last_time_s": 543.0, "frames": 4,
    }  # fmt: skip
    (event,) = store.events(CONTEXT.run)
    assert event == {
        "id": "rig-1/2024-05-01T10-00/crystallization_start", "run": CONTEXT.run,
        "type": "crystallization_start", "time_s": 541.0, "file": "0541.jpg", "t1_c": 1052.0,
    }  # fmt: skip
    store.close()


def test_replay_is_not_duplicated(store: StoreSink) -> None:
    store.close()
    again = StoreSink(store.config)  # a second process replaying the same run
    again.open()
    write(again, make_frames()[:2])
    write(again, make_frames()[2:])
    again.close()
    with sqlite3.connect(store.path) as db:
        assert db.execute("SELECT COUNT(*) FROM frames").fetchone()[0] == 4
        assert db.execute("SELECT COUNT(*) FROM events").fetchone()[0] == 1
    assert [r["frames"] for r in again.runs()] == [4]


def test_export_is_the_digitize_table(store: StoreSink, tmp_path: Path) -> None:
    store.close()
    out = tmp_path / "table.csv"
    assert export_table(store.path, CONTEXT.run, out) == 4
    with out.open(encoding="utf-8") as f:
        header = next(csv.reader(f))
    assert header == [
        "NO",
        "Time",
        "1# Temperature",
        "2# Temperature",
        "1# confidence",
        "2# confidence",
        "flags",
    ]
    assert tuple(header) == COLUMNS

    # Byte for byte what `digitize` writes from the same readings.
    expected = tmp_path / "expected.csv"
    rows = [DigitizedRow(f.index + 1, f.file, f.reading, f.frame_error) for f in make_frames()]
    write_table(expected, rows)
    assert out.read_text(encoding="utf-8") == expected.read_text(encoding="utf-8")
    table = read_table(out)
    assert table[1]["2# Temperature"] == "" and table[1]["flags"] == "t2: jump of 400 °C"
    assert table[2]["flags"] == "frame: cannot decode JPEG" and table[0]["1# confidence"] == "0.9877"

    xlsx = tmp_path / "table.xlsx"
    store.export_table(CONTEXT.run, xlsx)
    assert read_table(xlsx) == table


def test_export_of_an_unknown_run_fails(store: StoreSink, tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="no frames"):
        export_table(store.path, "nope", tmp_path / "t.csv")
    with pytest.raises(FileNotFoundError):
        export_table(tmp_path / "missing.sqlite", CONTEXT.run, tmp_path / "t.csv")
    store.close()


def test_a_recycled_run_name_keeps_both_recordings(store: StoreSink) -> None:
    first = RunContext(rig="rig-1", run="run1", run_id="run1@aaaa", started_at=1_000.0)
    second = RunContext(rig="rig-1", run="run1", run_id="run1@bbbb", started_at=2_000.0)
    write(store, make_frames(), first)
    write(store, make_frames(), second)
    runs = {r["run"]: r["frames"] for r in store.runs()}
    assert runs["run1@aaaa"] == 4 and runs["run1@bbbb"] == 4
    assert store.events("run1")[0]["run"] == "run1@bbbb"  # a name means its newest recording
    assert store.events("run1@aaaa")[0]["id"] == "rig-1/run1@aaaa/crystallization_start"
    store.close()


def test_a_store_that_cannot_be_written_asks_for_a_retry(tmp_path: Path) -> None:
    sink = StoreSink(StoreConfig(path=tmp_path / "furnace.sqlite"))
    frames = make_frames()
    with pytest.raises(Retry, match="not open"):
        write(sink, frames)  # the writer keeps the items and tries again
    sink.open()
    other = sqlite3.connect(tmp_path / "furnace.sqlite", isolation_level=None)
    other.execute("BEGIN EXCLUSIVE")  # another process holding the database past the busy timeout
    try:
        with pytest.raises(Retry, match="locked"):
            write(sink, frames)
    finally:
        other.execute("ROLLBACK")
        other.close()
    write(sink, frames)  # and once it lets go, the same batch goes in
    assert [r["frames"] for r in sink.runs()] == [4]
    sink.close()
    with pytest.raises(ValueError, match="folder"):
        StoreSink(StoreConfig(path=tmp_path))


# The store as the first release wrote it: no model columns in `frames`.
FIRST_RELEASE_SCHEMA = """
CREATE TABLE runs (run TEXT PRIMARY KEY, rig TEXT NOT NULL, started_at REAL NOT NULL,
                   first_time_s REAL NOT NULL, last_time_s REAL NOT NULL);
CREATE TABLE frames (run TEXT NOT NULL, file TEXT NOT NULL, idx INTEGER NOT NULL, time_s REAL NOT NULL,
                     t1_c REAL, t2_c REAL, stage TEXT NOT NULL, crystal_fraction REAL, mean REAL,
                     flags TEXT NOT NULL, frame_error TEXT, reading TEXT, document TEXT NOT NULL,
                     PRIMARY KEY (run, file));
CREATE INDEX frames_order ON frames (run, idx);
CREATE TABLE events (id TEXT PRIMARY KEY, run TEXT NOT NULL, type TEXT NOT NULL, time_s REAL NOT NULL,
                     file TEXT NOT NULL, t1_c REAL);
CREATE INDEX events_run ON events (run, time_s);
"""


def test_a_store_of_the_first_release_is_migrated_with_its_data_kept(tmp_path: Path) -> None:
    path = tmp_path / "old.sqlite"
    old = make_frames()
    with closing(sqlite3.connect(path)) as db, db:
        db.executescript(FIRST_RELEASE_SCHEMA)
        db.execute(
            "INSERT INTO runs VALUES (?, ?, ?, ?, ?)", (CONTEXT.run, "rig-1", CONTEXT.started_at, 540, 543)
        )
        for f in old:
            reading = None
            if f.reading is not None:
                reading = json.dumps({k: asdict(v) for k, v in f.reading.fields().items()})
            db.execute(
                "INSERT INTO frames VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (CONTEXT.run, f.file, f.index, f.time_s, f.t1_c, f.t2_c, str(f.stage), f.crystal_fraction,
                 None, "", f.frame_error, reading, "{}"),
            )  # fmt: skip
        db.execute(
            "INSERT INTO events VALUES (?, ?, ?, ?, ?, ?)",
            (CONTEXT.event_id("crystallization_start"), CONTEXT.run, "crystallization_start", 541.0,
             "0541.jpg", 1052.0),
        )  # fmt: skip

    sink = StoreSink(StoreConfig(path=path))
    sink.open()  # the current code on the old file
    later = RunContext(rig="rig-1", run="run2", run_id="run2@cccc", started_at=5_000.0)
    predicted = first_heads(1049.5, 12.5, Forecast(10.0, 80.0, 3.5))
    progress = ProgressEstimate(20.0, ProgressBasis.KINETICS)  # the pipeline's, beside the image's 12.5
    write(sink, [replace(f, prediction=predicted, progress=progress) for f in make_frames()], later)
    sink.close()
    StoreSink(StoreConfig(path=path)).open()  # a second start finds nothing left to migrate

    with closing(sqlite3.connect(path)) as db:
        columns = [row[1] for row in db.execute("PRAGMA table_info(frames)")]
        rows = db.execute(
            "SELECT run, file, t1_c, t1_image_c, progress_pct, forecast_mean, forecast_change FROM frames "
            "ORDER BY run, idx"
        ).fetchall()
        outputs = [r[0] for r in db.execute("SELECT outputs FROM frames ORDER BY run, idx")]
    assert columns[-5:] == ["t1_image_c", "progress_pct", "forecast_mean", "forecast_change", "outputs"]
    assert len(columns) == len(set(columns)) == 18
    # every head's fields by name in `outputs`; NULL on the old rows
    assert outputs[:4] == [None] * 4
    assert json.loads(outputs[4]) == {
        "temperature_progress": {"t1_image_c": 1049.5, "progress_image_pct": 12.5},
        "forecast": {"horizon_s": 10.0, "mean": 80.0, "change": 3.5, "image": None},
    }
    assert rows[:4] == [
        (CONTEXT.run, f.file, f.t1_c, None, None, None, None) for f in old
    ]  # kept as they were
    assert rows[4:] == [("run2@cccc", f.file, f.t1_c, 1049.5, 20.0, 80.0, 3.5) for f in old]
    assert {r["run"]: r["frames"] for r in stored_runs(path)} == {CONTEXT.run: 4, "run2@cccc": 4}
    assert [e["type"] for e in stored_events(path, CONTEXT.run)] == ["crystallization_start"]
    # the old readings still make the digitize table
    assert export_table(path, CONTEXT.run, tmp_path / "old.csv") == 4
    assert read_table(tmp_path / "old.csv")[1]["flags"] == "t2: jump of 400 °C"
