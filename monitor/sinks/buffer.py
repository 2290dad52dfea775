"""A disk-backed FIFO of strings: what an output could not deliver yet survives a crash or a restart.

SQLite (WAL) rather than a JSON-lines file: removing delivered items from the head of a file means
rewriting it, and a half-written line after a power cut needs repair; SQLite gives both for free.
"""

import logging
import sqlite3
import threading
from collections.abc import Iterable
from pathlib import Path

log = logging.getLogger(__name__)

_SCHEMA = """
CREATE TABLE IF NOT EXISTS items (id INTEGER PRIMARY KEY AUTOINCREMENT, item TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value INTEGER NOT NULL);
"""
_CHUNK = 500  # ids per DELETE: stays below SQLite's bound-variable limit on old builds


class DiskBuffer:
    """Bounded FIFO: `put` appends, `peek` reads the oldest without removing, `ack` removes by id.

    When full, the oldest items are dropped (the newest data is the most useful after a long outage) and
    `dropped` counts them, across restarts. Safe to share between threads.
    """

    def __init__(self, path: Path, max_items: int = 500_000) -> None:
        if max_items < 1:
            raise ValueError("max_items must be at least 1")
        self.path = path
        self.max_items = max_items
        path.parent.mkdir(parents=True, exist_ok=True)
        self._lock = threading.Lock()
        self._db = sqlite3.connect(path, check_same_thread=False, isolation_level=None)
        self._db.execute("PRAGMA journal_mode=WAL")
        # NORMAL: a commit survives a process crash; only an OS crash may lose the last few items.
        self._db.execute("PRAGMA synchronous=NORMAL")
        self._db.executescript(_SCHEMA)
        # Counted once here and tracked afterwards: COUNT(*) walks the whole table.
        self._count = int(self._db.execute("SELECT COUNT(*) FROM items").fetchone()[0])
        row = self._db.execute("SELECT value FROM meta WHERE key = 'dropped'").fetchone()
        self.dropped = int(row[0]) if row else 0

    def __len__(self) -> int:
        return self._count

    def put(self, item: str) -> None:
        self.extend([item])

    def extend(self, items: Iterable[str]) -> None:
        """Append several items in one transaction (one disk sync instead of one per item)."""
        rows = [(item,) for item in items]
        if not rows:
            return
        with self._lock:
            self._db.execute("BEGIN IMMEDIATE")
            try:
                self._db.executemany("INSERT INTO items (item) VALUES (?)", rows)
                self._count += len(rows)
                excess = self._count - self.max_items
                if excess > 0:
                    self._drop_oldest(excess)
                self._db.execute("COMMIT")
            except BaseException:
                self._db.execute("ROLLBACK")
                self._count = int(self._db.execute("SELECT COUNT(*) FROM items").fetchone()[0])
                raise

    def _drop_oldest(self, n: int) -> None:
        self._db.execute("DELETE FROM items WHERE id IN (SELECT id FROM items ORDER BY id LIMIT ?)", (n,))
        self._count -= n
        before = self.dropped
        self.dropped += n
        self._db.execute(
            "INSERT INTO meta (key, value) VALUES ('dropped', ?) "
            "ON CONFLICT(key) DO UPDATE SET value = excluded.value",
            (self.dropped,),
        )
        # Once when dropping starts, then every 10 000 items: an outage must not flood the log.
        if before == 0 or before // 10_000 != self.dropped // 10_000:
            log.warning(
                "buffer %s is full (%d items): dropped the oldest, %d dropped so far",
                self.path,
                self.max_items,
                self.dropped,
            )

    def peek(self, n: int) -> list[tuple[int, str]]:
        """The n oldest items with their ids, left in the buffer until acknowledged."""
        with self._lock:
            rows = self._db.execute("SELECT id, item FROM items ORDER BY id LIMIT ?", (n,)).fetchall()
        return [(int(i), str(item)) for i, item in rows]

    def ack(self, ids: Iterable[int]) -> None:
        """Remove delivered items; unknown ids (e.g. dropped meanwhile) are ignored."""
        id_list = list(ids)
        with self._lock:
            self._db.execute("BEGIN IMMEDIATE")
            try:
                for start in range(0, len(id_list), _CHUNK):
                    chunk = id_list[start : start + _CHUNK]
                    marks = ",".join("?" * len(chunk))
                    cursor = self._db.execute(f"DELETE FROM items WHERE id IN ({marks})", chunk)
                    self._count -= cursor.rowcount
                self._db.execute("COMMIT")
            except BaseException:
                self._db.execute("ROLLBACK")
                self._count = int(self._db.execute("SELECT COUNT(*) FROM items").fetchone()[0])
                raise

    def close(self) -> None:
        with self._lock:
            self._db.close()
