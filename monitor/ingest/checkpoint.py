"""Which frames of each run have been fully processed, kept on disk so a restart resumes where it stopped.

One small JSON file per run in the checkpoint folder, holding the processed frame names in the order they
were marked. The daemon marks a frame only after every sink accepted it, so after a crash the frames that
were delivered but not yet marked come again (the sinks dedupe by frame id) and none is skipped.

Each mark rewrites the run's file atomically (temp file, fsync, os.replace): a crash leaves either the
old or the new checkpoint, never a torn one. The rewrite is O(frames in the run), which is a few hundred
kilobytes for a ten-hour run at one frame a second: cheap next to decoding one frame.
"""

import contextlib
import json
import logging
import os
import threading
import time
from pathlib import Path
from urllib.parse import quote

log = logging.getLogger(__name__)

_VERSION = 1


class _RunState:
    """The processed frames of one run: a list for order (and last()), a set for O(1) done()."""

    def __init__(self, files: list[str]) -> None:
        self.files = files
        self.names = set(files)


class Checkpoint:
    """Per-run record of processed frame files. Thread-safe: the watcher asks, the daemon marks."""

    def __init__(self, dir: Path) -> None:
        self.dir = Path(dir)
        self._runs: dict[str, _RunState] = {}
        self._lock = threading.Lock()

    def done(self, run: str, file: str | Path) -> bool:
        """True if this frame of the run was marked as processed (now or by an earlier process)."""
        with self._lock:
            return Path(file).name in self._state(run).names

    def mark(self, run: str, file: str | Path) -> None:
        """Record a frame as processed; persisted before this returns. Marking twice is a no-op."""
        name = Path(file).name
        with self._lock:
            state = self._state(run)
            if name in state.names:
                return
            # Persist first: if the write fails, memory must not claim a mark the disk does not have.
            self._write(run, [*state.files, name])
            state.files.append(name)
            state.names.add(name)

    def last(self, run: str) -> str | None:
        """The frame file name marked most recently in the run, or None if none was."""
        with self._lock:
            files = self._state(run).files
            return files[-1] if files else None

    def processed(self, run: str) -> list[str]:
        """All frame names of the run marked so far, in marking order."""
        with self._lock:
            return list(self._state(run).files)

    def path(self, run: str) -> Path:
        """The run's checkpoint file. Run names may be relative folder paths ('2024-05/run7'): quoted,
        so every run gets exactly one flat file and no name can escape the folder."""
        if not run or run in (".", "..") or "\0" in run:
            raise ValueError(f"invalid run name {run!r}")
        return self.dir / f"{quote(run, safe='')}.json"

    def _state(self, run: str) -> _RunState:
        state = self._runs.get(run)
        if state is None:
            state = self._runs[run] = _RunState(self._read(run))
        return state

    def _read(self, run: str) -> list[str]:
        path = self.path(run)
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
            files = data["files"]
            if not isinstance(files, list) or not all(isinstance(f, str) for f in files):
                raise ValueError("'files' is not a list of names")
            return files
        except FileNotFoundError:
            return []
        except (OSError, ValueError, KeyError, TypeError) as exc:
            # An unreadable checkpoint must not stop ingestion, and guessing would skip frames: start the
            # run afresh (everything is re-delivered, the sinks dedupe) and keep the bad file for a look.
            bad = path.with_name(f"{path.name}.corrupt")
            log.error("checkpoint %s is unreadable (%s); kept as %s, the run starts afresh", path, exc, bad)
            with contextlib.suppress(OSError):
                os.replace(path, bad)
            return []

    def _write(self, run: str, files: list[str]) -> None:
        self.dir.mkdir(parents=True, exist_ok=True)
        path = self.path(run)
        data = {
            "version": _VERSION,
            "run": run,
            "updated": time.time(),
            "count": len(files),
            "last": files[-1] if files else None,
            "files": files,
        }
        tmp = path.with_name(f".{path.name}.tmp")
        with tmp.open("w", encoding="utf-8") as f:
            json.dump(data, f, separators=(",", ":"))
            f.flush()
            # fsync before the rename: otherwise a power cut can leave the new name pointing at no data.
            os.fsync(f.fileno())
        os.replace(tmp, path)
