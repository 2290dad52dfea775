"""Which run a frame belongs to: its folder, and the identity of the run's first frame.

A run's name (its folder relative to the watch folder) is what people call it, but names are recycled: a
second `run1` recorded after the first was cleared away, or a `run1` in another watch folder sharing the
checkpoint folder. The key adds a digest of the folder's absolute path and the first whole frame's name and
bytes, so a recycled name is a new run, and the same run seen again after a restart (or after its files
were touched or copied in place with their contents) keeps its key. Bytes rather than inode and mtime:
inodes are reused once a folder is cleared, and mtimes move while a file is being written or copied.
"""

import hashlib
import os
import threading
from dataclasses import dataclass
from pathlib import Path

from monitor.ingest.formats import file_is_whole
from monitor.ingest.loader import inside, list_frames

_FIRST_LOOK = 5  # frames looked at for the first whole one: a run whose first 5 are all broken is rare


@dataclass(frozen=True, slots=True)
class RunKey:
    """A run as the daemon tracks it: `name` for people, topics and tags; `id` unique per recording."""

    name: str
    id: str


@dataclass(frozen=True, slots=True)
class FrameArrival:
    """A complete frame file of a run, ready to be loaded."""

    key: RunKey
    path: Path
    stray: bool = False  # far ahead of the run while earlier frames kept coming: another run's frame

    @property
    def run(self) -> str:
        return self.key.name


def _signature(path: Path) -> tuple[int, int, int] | None:
    try:
        st = path.stat()
    except OSError:
        return None
    return (st.st_ino, st.st_size, st.st_mtime_ns)


@dataclass(frozen=True, slots=True)
class _Known:
    first: Path
    signature: tuple[int, int, int]
    key: RunKey


class RunKeys:
    """Run keys per folder, cached: confirming one costs a stat of the first frame; the folder is listed
    and the first frame read again only when that file has gone or changed."""

    def __init__(self) -> None:
        self._known: dict[Path, _Known] = {}
        self._lock = threading.Lock()  # the watcher thread and the pipeline thread both ask

    def key(self, name: str, folder: Path) -> RunKey | None:
        """The run's key, or None while no frame of the folder is whole yet."""
        folder = Path(os.path.abspath(folder))
        with self._lock:
            known = self._known.get(folder)
            if known is not None and _signature(known.first) == known.signature:
                return known.key
            try:
                frames = list_frames(folder)[:_FIRST_LOOK]
            except OSError:
                return None
            for first in frames:
                if not inside(first, folder):  # a link out of the folder is never read
                    continue
                signature = _signature(first)
                if signature is None or signature[1] == 0 or not file_is_whole(first):
                    continue
                try:
                    content = hashlib.blake2b(first.read_bytes(), digest_size=16).hexdigest()
                except OSError:
                    continue
                key = RunKey(name, f"{name}@{_digest(str(folder), first.name, content)}")
                self._known[folder] = _Known(first, signature, key)
                return key
            return None

    def unidentified(self, name: str, folder: Path) -> RunKey:
        """The key of a run none of whose first frames is whole (broken files only): by its folder alone."""
        return RunKey(name, f"{name}@{_digest(os.path.abspath(folder))}")


def _digest(*parts: str) -> str:
    return hashlib.blake2b("\0".join(parts).encode("utf-8", "surrogateescape"), digest_size=5).hexdigest()
