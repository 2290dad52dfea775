"""The outbox: one durable queue for every sink, so a frame is checkpointed only once what each sink must
send of it is on disk, whatever the network does.

One SQLite file (WAL): a row per item (sink, payload, droppable), a dead-letter table for what a server
refused for good, and per-sink counters that survive restarts. One frame's items for all sinks go in one
transaction, so a crash leaves all of them or none. persist-queue was looked at first: it keeps one queue
per file or table and cannot put into several queues atomically nor move items to a dead-letter table in
the same transaction, which is exactly what this needs; SQLite does it in a few statements.

Full (`max_items` per sink): the oldest droppable items go first (frames: the newest data is the most
useful after a long outage); items that are not droppable (stage events, alerts) are never dropped.
"""

import contextlib
import logging
import sqlite3
import threading
import time
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

log = logging.getLogger(__name__)

_SCHEMA = """
CREATE TABLE IF NOT EXISTS items (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    sink TEXT NOT NULL,
    payload TEXT NOT NULL,
    droppable INTEGER NOT NULL
);
CREATE INDEX IF NOT EXISTS items_by_sink ON items (sink, id);
CREATE TABLE IF NOT EXISTS dead_letters (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    sink TEXT NOT NULL,
    payload TEXT NOT NULL,
    answer TEXT NOT NULL,
    at REAL NOT NULL
);
CREATE TABLE IF NOT EXISTS counters (
    sink TEXT NOT NULL,
    name TEXT NOT NULL,
    value INTEGER NOT NULL,
    PRIMARY KEY (sink, name)
);
"""
_CHUNK = 500  # ids per statement: below SQLite's bound-variable limit on old builds
_BUMP = (
    "INSERT INTO counters (sink, name, value) VALUES (?, ?, ?) "
    "ON CONFLICT(sink, name) DO UPDATE SET value = value + excluded.value"
)


@dataclass(frozen=True, slots=True)
class Item:
    """One message for one sink, already encoded."""

    payload: str
    droppable: bool = False


@dataclass(frozen=True, slots=True)
class Queued:
    id: int
    payload: str


class Outbox:
    """Thread-safe: the pipeline thread puts, each sink's writer peeks and acknowledges its own items."""

    def __init__(self, path: Path, *, max_items: int = 500_000) -> None:
        if max_items < 1:
            raise ValueError("outbox max_items must be at least 1")
        self.path = path
        self.max_items = max_items
        path.parent.mkdir(parents=True, exist_ok=True)
        self._lock = threading.Lock()
        self._db = sqlite3.connect(path, check_same_thread=False, isolation_level=None)
        self._db.execute("PRAGMA journal_mode=WAL")
        # NORMAL in WAL mode: a commit survives a process crash (SIGKILL); an OS crash may lose the last few.
        self._db.execute("PRAGMA synchronous=NORMAL")
        self._db.executescript(_SCHEMA)
        # counted once here and tracked afterwards: COUNT(*) walks the table
        rows = self._db.execute("SELECT sink, COUNT(*) FROM items GROUP BY sink").fetchall()
        self._counts: dict[str, int] = {str(sink): int(n) for sink, n in rows}
        self._file = file_identity(path)

    def put(self, items: Mapping[str, Sequence[Item]]) -> None:
        """Every sink's items of one frame, in one transaction: on disk when this returns."""
        rows = [(sink, i.payload, int(i.droppable)) for sink, batch in items.items() for i in batch]
        if not rows:
            return
        with self._lock:
            self._restore_if_deleted()
        with self._lock, self._transaction():
            self._db.executemany("INSERT INTO items (sink, payload, droppable) VALUES (?, ?, ?)", rows)
            for sink, batch in items.items():
                self._counts[sink] = self._counts.get(sink, 0) + len(batch)
                if self._counts[sink] > self.max_items:
                    self._drop_oldest(sink, self._counts[sink] - self.max_items)

    def peek(self, sink: str, n: int) -> list[Queued]:
        """The n oldest items of a sink, left in the outbox until acknowledged."""
        with self._lock:
            rows = self._db.execute(
                "SELECT id, payload FROM items WHERE sink = ? ORDER BY id LIMIT ?", (sink, n)
            ).fetchall()
        return [Queued(int(i), str(p)) for i, p in rows]

    def ack(self, sink: str, ids: Iterable[int]) -> None:
        """Delivered: gone from the outbox (ids dropped meanwhile are ignored)."""
        with self._lock, self._transaction():
            removed = self._delete(sink, list(ids))
            self._bump(sink, "delivered", removed)

    def dead_letter(self, sink: str, batch: Sequence[Queued], answer: str) -> None:
        """Refused for good by the server: kept with its answer for a person to look at, not retried."""
        now = time.time()
        with self._lock, self._transaction():
            self._db.executemany(
                "INSERT INTO dead_letters (sink, payload, answer, at) VALUES (?, ?, ?, ?)",
                [(sink, q.payload, answer, now) for q in batch],
            )
            self._bump(sink, "dead", self._delete(sink, [q.id for q in batch]))

    def queued(self, sink: str) -> int:
        with self._lock:
            return self._counts.get(sink, 0)

    def counter(self, sink: str, name: str) -> int:
        """'delivered', 'dropped' or 'dead', since the outbox was created."""
        with self._lock:
            row = self._db.execute(
                "SELECT value FROM counters WHERE sink = ? AND name = ?", (sink, name)
            ).fetchone()
        return int(row[0]) if row else 0

    def dead_letters(self, sink: str) -> list[tuple[str, str]]:
        """(payload, the server's answer) of every refused item of a sink, oldest first."""
        with self._lock:
            rows = self._db.execute(
                "SELECT payload, answer FROM dead_letters WHERE sink = ? ORDER BY id", (sink,)
            ).fetchall()
        return [(str(p), str(a)) for p, a in rows]

    def close(self) -> None:
        with self._lock:
            self._db.close()

    def _restore_if_deleted(self) -> None:
        """SQLite keeps writing to a file deleted under it (its items would be on disk nowhere): the open
        connection copies everything it still holds to a new file at the path, which takes over."""
        if file_identity(self.path) == self._file:
            return
        self.path.parent.mkdir(parents=True, exist_ok=True)
        # fails if another file took the path meanwhile: put() then reports "cannot store" and retries
        self._db.execute("VACUUM INTO ?", (str(self.path),))
        self._db.close()
        self._db = sqlite3.connect(self.path, check_same_thread=False, isolation_level=None)
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute("PRAGMA synchronous=NORMAL")
        self._file = file_identity(self.path)
        log.warning(
            "outbox %s was deleted: made again with the %d items waiting",
            self.path,
            sum(self._counts.values()),
        )

    # --- inside the lock and a transaction ----------------------------------------------------------

    @contextlib.contextmanager
    def _transaction(self) -> Iterator[None]:
        self._db.execute("BEGIN IMMEDIATE")
        try:
            yield
        except BaseException:
            self._db.execute("ROLLBACK")
            self._recount()  # memory's counts followed the statements that were rolled back
            raise
        self._db.execute("COMMIT")

    def _recount(self) -> None:
        rows = self._db.execute("SELECT sink, COUNT(*) FROM items GROUP BY sink").fetchall()
        self._counts = {str(sink): int(n) for sink, n in rows}

    def _delete(self, sink: str, ids: list[int]) -> int:
        removed = 0
        for start in range(0, len(ids), _CHUNK):
            chunk = ids[start : start + _CHUNK]
            marks = ",".join("?" * len(chunk))
            cursor = self._db.execute(f"DELETE FROM items WHERE sink = ? AND id IN ({marks})", (sink, *chunk))
            removed += cursor.rowcount
        self._counts[sink] = self._counts.get(sink, 0) - removed
        return removed

    def _drop_oldest(self, sink: str, n: int) -> None:
        ids = [
            int(r[0])
            for r in self._db.execute(
                "SELECT id FROM items WHERE sink = ? AND droppable = 1 ORDER BY id LIMIT ?", (sink, n)
            )
        ]
        dropped = self._delete(sink, ids)
        if dropped:
            before = self._value(sink, "dropped")
            self._bump(sink, "dropped", dropped)
            # once when dropping starts, then every 10 000 items: a long outage must not flood the log
            if before == 0 or before // 10_000 != (before + dropped) // 10_000:
                log.warning(
                    "outbox: %s has %d items waiting (the most kept): dropped the oldest frames, %d so far",
                    sink, self.max_items, before + dropped,
                )  # fmt: skip

    def _value(self, sink: str, name: str) -> int:
        row = self._db.execute(
            "SELECT value FROM counters WHERE sink = ? AND name = ?", (sink, name)
        ).fetchone()
        return int(row[0]) if row else 0

    def _bump(self, sink: str, name: str, n: int) -> None:
        if n:
            self._db.execute(_BUMP, (sink, name, n))


def file_identity(path: Path) -> tuple[int, int] | None:
    """(device, inode) of a file, None when it is gone: a file deleted or made again under the same name
    has another, so an open SQLite connection can tell it writes to a file nobody will read."""
    try:
        st = path.stat()
    except OSError:
        return None
    return (st.st_dev, st.st_ino)
