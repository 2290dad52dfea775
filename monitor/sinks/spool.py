"""A small append-only JSON-lines spool: the messages a sink has not delivered yet, kept across restarts.

One file per sink. A message line is `{"seq", "topic", "payload", "qos", "retain"}`; a `{"done": seq}`
line marks it delivered (or dropped). Appending a tombstone instead of editing the file keeps every write
a single append, so a crash can at worst leave one torn last line, which is skipped on the next load.
"""

import contextlib
import fcntl
import json
import logging
import os
import threading
from collections.abc import Iterator
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import IO, Any

logger = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class SpooledMessage:
    seq: int  # increasing: the delivery order, also across restarts
    topic: str
    payload: str
    qos: int
    retain: bool


class Spool:
    """The pending messages of one sink, in order, mirrored to `path`.

    A message put with `durable=False` stays in memory until `persist()` (or `close()`) writes it: a sink
    that is connected sends it within milliseconds, so writing it first would only wear the disk.
    Thread-safe; `path` is locked against a second process using the same spool.
    """

    COMPACT_AFTER = 1000  # dead lines tolerated before the file is rewritten

    def __init__(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        self._path = path
        self._lock = threading.RLock()
        # A separate lock file, because compaction replaces the spool file (and a flock is per inode).
        self._lock_file: IO[str] = open(path.with_name(path.name + ".lock"), "a")  # noqa: SIM115
        try:
            fcntl.flock(self._lock_file, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            self._lock_file.close()
            raise RuntimeError(f"spool {path} is in use by another process") from None
        self._pending: dict[int, SpooledMessage] = self._load()
        self._on_disk: set[int] = set(self._pending)
        self._next_seq = max(self._pending, default=-1) + 1
        self._dead = 0
        self._file: IO[str] = self._rewrite()
        if self._pending:
            logger.info("spool %s: %d message(s) pending from a previous run", path, len(self._pending))

    def __len__(self) -> int:
        return len(self._pending)

    @property
    def path(self) -> Path:
        return self._path

    def put(
        self, topic: str, payload: str, qos: int, retain: bool, *, durable: bool = True
    ) -> SpooledMessage:
        with self._lock:
            message = SpooledMessage(self._next_seq, topic, payload, qos, retain)
            self._next_seq += 1
            self._pending[message.seq] = message
            if durable:
                self._write_message(message)
            return message

    def drain(self) -> Iterator[SpooledMessage]:
        """The pending messages, oldest first (a snapshot). They stay spooled until `remove()`."""
        with self._lock:
            snapshot = list(self._pending.values())
        yield from snapshot

    def next_after(self, seq: int) -> SpooledMessage | None:
        """The oldest pending message after `seq` (only unacknowledged messages precede it: cheap)."""
        with self._lock:
            return next((m for m in self._pending.values() if m.seq > seq), None)

    def oldest(self, qos: int, exclude: int | None = None) -> SpooledMessage | None:
        """The oldest pending message of this QoS (other than `exclude`): what a full queue gives up first."""
        with self._lock:
            return next((m for m in self._pending.values() if m.qos == qos and m.seq != exclude), None)

    def remove(self, seq: int) -> bool:
        """Forget a delivered (or dropped) message; False if it was not pending."""
        with self._lock:
            if self._pending.pop(seq, None) is None:
                return False
            if seq in self._on_disk:
                self._on_disk.discard(seq)
                if not self._on_disk:
                    # Nothing on disk is pending: start an empty file rather than keep tombstones.
                    self._file.close()
                    self._file = open(self._path, "w", encoding="utf-8")  # noqa: SIM115
                    self._dead = 0
                else:
                    self._append({"done": seq})
                    self._dead += 2
                    if self._dead > self.COMPACT_AFTER and self._dead > 2 * len(self._on_disk):
                        self._file.close()
                        self._file = self._rewrite()
            return True

    def persist(self) -> None:
        """Write every pending message that is only in memory (before an outage or a shutdown)."""
        with self._lock:
            for message in self._pending.values():
                if message.seq not in self._on_disk:
                    self._write_message(message)

    def close(self) -> None:
        """Persist what is pending, then release the file and its lock."""
        with self._lock:
            if self._file.closed:
                return
            self.persist()
            self._file.close()
            self._lock_file.close()

    def _write_message(self, message: SpooledMessage) -> None:
        self._append(asdict(message))
        self._on_disk.add(message.seq)

    def _append(self, record: dict[str, Any]) -> None:
        # flush, no fsync: a process crash loses nothing, a power cut may lose the last lines; an fsync per
        # frame would cost more than the messages are worth.
        self._file.write(json.dumps(record, ensure_ascii=False, separators=(",", ":")) + "\n")
        self._file.flush()

    def _load(self) -> dict[int, SpooledMessage]:
        pending: dict[int, SpooledMessage] = {}
        if not self._path.exists():
            return pending
        bad = 0
        with open(self._path, encoding="utf-8", errors="replace") as f:
            for line in f:
                try:
                    record = json.loads(line)
                    if "done" in record:
                        pending.pop(int(record["done"]), None)
                    else:
                        message = SpooledMessage(
                            int(record["seq"]),
                            str(record["topic"]),
                            str(record["payload"]),
                            int(record["qos"]),
                            bool(record["retain"]),
                        )
                        pending[message.seq] = message
                except (ValueError, KeyError, TypeError):
                    bad += 1
        if bad:
            logger.warning("spool %s: skipped %d unreadable line(s) (torn write?)", self._path, bad)
        # Messages persisted at an outage may follow later ones in the file: the seq is the order.
        return dict(sorted(pending.items()))

    def _rewrite(self) -> IO[str]:
        """Replace the file by its live messages (atomically) and return it opened for appending."""
        tmp = self._path.with_name(self._path.name + ".tmp")
        with open(tmp, "w", encoding="utf-8") as f:
            for seq in sorted(self._on_disk):
                record = asdict(self._pending[seq])
                f.write(json.dumps(record, ensure_ascii=False, separators=(",", ":")) + "\n")
            f.flush()
            with contextlib.suppress(OSError):
                os.fsync(f.fileno())
        os.replace(tmp, self._path)
        self._dead = 0
        return open(self._path, "a", encoding="utf-8")
