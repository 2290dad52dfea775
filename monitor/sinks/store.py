"""The local store: runs, frames and stage events in one SQLite file, and the digitize table made from it.

A frame is keyed by (run, file) and an event by its stable id, written with INSERT OR REPLACE: replaying a
run updates its rows instead of adding copies. `run` is the run's id (its name and a digest of the
recording, see ingest/identity.py), so a recycled run name keeps both recordings. Each frame carries its
overlay reading as JSON, so the exported table is the one `digitize` would have written from it."""

import json
import logging
import sqlite3
import threading
import time
from contextlib import closing
from dataclasses import asdict
from pathlib import Path
from typing import Any

from monitor.config import MonitorConfig
from monitor.config.service import StoreConfig
from monitor.records import FieldRead, FrameResult, OverlayReading
from monitor.sinks.base import Retry, RunContext, Sink
from monitor.sinks.outbox import Item, file_identity
from monitor.sinks.payload import event_document, frame_document, outputs_json
from monitor.sinks.retention import prune_runs

log = logging.getLogger(__name__)

_PRUNE_EVERY_S = 3600.0  # retention is checked on open and then at most this often

_SCHEMA = """
CREATE TABLE IF NOT EXISTS runs (
    run TEXT PRIMARY KEY,
    rig TEXT NOT NULL,
    started_at REAL NOT NULL,
    first_time_s REAL NOT NULL,
    last_time_s REAL NOT NULL
);
CREATE TABLE IF NOT EXISTS frames (
    run TEXT NOT NULL,
    file TEXT NOT NULL,
    idx INTEGER NOT NULL,
    time_s REAL NOT NULL,
    t1_c REAL,
    t2_c REAL,
    stage TEXT NOT NULL,
    crystal_fraction REAL,
    mean REAL,
    flags TEXT NOT NULL,
    frame_error TEXT,
    reading TEXT,
    document TEXT NOT NULL,
    t1_image_c REAL,
    progress_pct REAL,
    forecast_mean REAL,
    forecast_change REAL,
    outputs TEXT,
    PRIMARY KEY (run, file)
);
CREATE INDEX IF NOT EXISTS frames_order ON frames (run, idx);
CREATE TABLE IF NOT EXISTS events (
    id TEXT PRIMARY KEY,
    run TEXT NOT NULL,
    type TEXT NOT NULL,
    time_s REAL NOT NULL,
    file TEXT NOT NULL,
    t1_c REAL
);
CREATE INDEX IF NOT EXISTS events_run ON events (run, time_s);
"""

_UPSERT_RUN = """
INSERT INTO runs (run, rig, started_at, first_time_s, last_time_s) VALUES (?, ?, ?, ?, ?)
ON CONFLICT(run) DO UPDATE SET
    rig = excluded.rig,
    started_at = excluded.started_at,
    first_time_s = min(first_time_s, excluded.first_time_s),
    last_time_s = max(last_time_s, excluded.last_time_s)
"""
_FRAME_COLUMNS = (
    "run", "file", "idx", "time_s", "t1_c", "t2_c", "stage", "crystal_fraction", "mean", "flags",
    "frame_error", "reading", "document", "t1_image_c", "progress_pct", "forecast_mean", "forecast_change",
    "outputs",
)  # fmt: skip
_PUT_FRAME = (
    f"INSERT OR REPLACE INTO frames ({', '.join(_FRAME_COLUMNS)}) "
    f"VALUES ({', '.join('?' * len(_FRAME_COLUMNS))})"
)
# Columns added after the first release (a store written by an older version gets them on start): the first
# two heads' own columns, and `outputs`, every head's fields as JSON ({head: {field: value}}).
_ADDED_COLUMNS = dict.fromkeys(("t1_image_c", "progress_pct", "forecast_mean", "forecast_change"), "REAL")
_ADDED_COLUMNS["outputs"] = "TEXT"
_PUT_EVENT = "INSERT OR REPLACE INTO events (id, run, type, time_s, file, t1_c) VALUES (?, ?, ?, ?, ?, ?)"


def _reading_json(reading: OverlayReading | None) -> str | None:
    if reading is None:
        return None
    return json.dumps({name: asdict(field) for name, field in reading.fields().items()}, ensure_ascii=False)


def _reading_from_json(text: str | None) -> OverlayReading | None:
    if text is None:
        return None
    fields = {name: FieldRead(**value) for name, value in json.loads(text).items()}
    return OverlayReading(**fields)


def _connect_read_only(db_path: Path) -> sqlite3.Connection:
    """Readers open their own connection: WAL lets them read while the sink writes."""
    if not db_path.is_file():
        raise FileNotFoundError(f"no store at {db_path}")
    db = sqlite3.connect(db_path.resolve().as_uri() + "?mode=ro", uri=True)
    db.row_factory = sqlite3.Row
    return db


def stored_runs(db_path: Path) -> list[dict[str, Any]]:
    """Every stored run, oldest first, with its frame count."""
    sql = (
        "SELECT r.*, (SELECT COUNT(*) FROM frames f WHERE f.run = r.run) AS frames "
        "FROM runs r ORDER BY r.started_at, r.run"
    )
    with closing(_connect_read_only(db_path)) as db:
        return [dict(row) for row in db.execute(sql)]


def _run_id(db: sqlite3.Connection, run: str) -> str:
    """A run id as given, or the newest recording of a run name (`run1` -> `run1@3fa2c1d0e9`)."""
    if db.execute("SELECT 1 FROM runs WHERE run = ?", (run,)).fetchone():
        return run
    row = db.execute(
        "SELECT run FROM runs WHERE substr(run, 1, ?) = ? ORDER BY started_at DESC LIMIT 1",
        (len(run) + 1, f"{run}@"),
    ).fetchone()
    return str(row[0]) if row else run


def stored_events(db_path: Path, run: str) -> list[dict[str, Any]]:
    """The stage events of one run (an id, or a name: its newest recording) in time order: id, run, type,
    time_s, file, t1_c."""
    with closing(_connect_read_only(db_path)) as db:
        rows = db.execute("SELECT * FROM events WHERE run = ? ORDER BY time_s, type", (_run_id(db, run),))
        return [dict(row) for row in rows]


def export_table(db_path: Path, run: str, out_path: Path) -> int:
    """Write the digitize table (CSV, or XLSX for a .xlsx name) of a stored run; returns the row count.

    The stored readings become DigitizedRows again, so overlay/table.py's writer and columns are used as is.
    """
    # Imported here: the digitizer brings OpenCV and friends, which the sink itself does not need.
    from monitor.overlay.digitize import DigitizedRow
    from monitor.overlay.table import write_table

    sql = "SELECT idx, file, reading, frame_error FROM frames WHERE run = ? ORDER BY idx, time_s"
    with closing(_connect_read_only(db_path)) as db:
        rows = [
            DigitizedRow(
                no=r["idx"] + 1,
                file=r["file"],
                reading=_reading_from_json(r["reading"]),
                frame_error=r["frame_error"],
            )
            for r in db.execute(sql, (_run_id(db, run),))
        ]
    if not rows:
        raise ValueError(f"no frames of run {run!r} in {db_path}")
    write_table(out_path, rows)
    return len(rows)


def build_sink(config: MonitorConfig) -> "StoreSink | None":
    return StoreSink(config.store) if config.store.enabled else None


class StoreSink(Sink):
    """Sink `store`: one connection, one transaction per batch (the frames' runs, rows and events)."""

    name = "store"
    batch_size = 50

    def __init__(self, config: StoreConfig) -> None:
        if config.path.is_dir():
            raise ValueError(f"store.path {config.path} is a folder, not an SQLite file")
        self.config = config
        self.path = config.path
        self._lock = threading.Lock()
        self._db: sqlite3.Connection | None = None
        self._file: tuple[int, int] | None = None  # (device, inode) of the file the connection writes
        self._pruned_at = -_PRUNE_EVERY_S

    def open(self) -> None:
        if self._db is not None:
            return
        self._db = self._connect()
        self._prune()

    def _connect(self) -> sqlite3.Connection:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        db = sqlite3.connect(self.path, check_same_thread=False, isolation_level=None)
        db.execute("PRAGMA journal_mode=WAL")
        db.execute("PRAGMA synchronous=NORMAL")  # in WAL mode: durable across a process crash
        db.execute("PRAGMA busy_timeout=5000")  # an export or a sqlite3 shell may hold a lock briefly
        db.executescript(_SCHEMA)
        present = {row[1] for row in db.execute("PRAGMA table_info(frames)")}
        for column, kind in _ADDED_COLUMNS.items():
            if column not in present:
                db.execute(f"ALTER TABLE frames ADD COLUMN {column} {kind}")
        self._file = file_identity(self.path)
        return db

    def _reopen_if_deleted(self) -> None:
        """SQLite keeps writing to a file deleted under it, and everything written is lost with the last
        handle: a file gone (or replaced) is noticed at the next batch and made again (lock held)."""
        if self._db is None or file_identity(self.path) == self._file:
            return
        log.warning("store %s was deleted: made again; it holds what comes from now on", self.path)
        self._db.close()
        self._db = None
        self._db = self._connect()

    def prune(self, now: float | None = None) -> int:
        """Delete the runs older than `retention_days` (by their last frame's time); the count deleted."""
        with self._lock:
            return self._prune(now)

    def _prune(self, now: float | None = None) -> int:
        days = self.config.retention_days
        if days is None or self._db is None:
            return 0
        self._pruned_at = time.monotonic()
        deleted = prune_runs(self._db, older_than=(time.time() if now is None else now) - days * 86_400.0)
        if deleted:
            log.info("store: %d runs older than %g days deleted", deleted, days)
        return deleted

    def encode(self, context: RunContext, result: FrameResult) -> list[Item]:
        doc = frame_document(context, result)
        forecast = doc["forecast"] or {}
        frame = (
            context.key, result.file, result.index, result.time_s, result.t1_c, result.t2_c,
            str(result.stage), result.crystal_fraction, doc["mean"], "; ".join(doc["flags"]),
            result.frame_error, _reading_json(result.reading), json.dumps(doc, ensure_ascii=False),
            doc["t1_image_c"], doc["progress_pct"], forecast.get("mean"), forecast.get("change"),
            outputs_json(result.prediction),
        )  # fmt: skip
        run = (context.key, context.rig, context.started_at, result.time_s, result.time_s)
        events = [
            (e["id"], context.key, e["type"], e["time_s"], e["file"], e["t1_c"])
            for e in (event_document(context, ev) for ev in result.events)
        ]
        return [Item(json.dumps({"run": run, "frame": frame, "events": events}, ensure_ascii=False))]

    def write(self, payloads: list[str]) -> None:
        """All the batch's frames in one transaction; a database that cannot be written now is retried."""
        docs = [json.loads(p) for p in payloads]
        with self._lock:
            if self._db is None:
                raise Retry("store not open")
            try:
                self._reopen_if_deleted()
                if time.monotonic() - self._pruned_at > _PRUNE_EVERY_S:
                    self._prune()
                db = self._db
                db.execute("BEGIN IMMEDIATE")
                try:
                    for doc in docs:
                        db.execute(_UPSERT_RUN, doc["run"])
                        db.execute(_PUT_FRAME, doc["frame"])
                        db.executemany(_PUT_EVENT, doc["events"])
                    db.execute("COMMIT")
                except BaseException:
                    db.execute("ROLLBACK")
                    raise
            except (sqlite3.OperationalError, OSError) as e:  # locked, disk full, read-only, I/O: may pass
                # the reason is shown on /healthz: no path in it (the log line of the writer has the sink)
                raise Retry(f"cannot write: {e}") from e

    def close(self) -> None:
        with self._lock:
            if self._db is not None:
                self._db.close()
                self._db = None

    def runs(self) -> list[dict[str, Any]]:
        return stored_runs(self.path)

    def events(self, run: str) -> list[dict[str, Any]]:
        return stored_events(self.path, run)

    def export_table(self, run: str, out_path: Path) -> int:
        return export_table(self.path, run, out_path)
