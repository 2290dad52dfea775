"""Which frames of each run have been fully processed, kept on disk so a restart resumes where it stopped.

One append-only log per run in the checkpoint folder (`<run id>.log`, a frame name a line, in the order they
were marked). The daemon marks a frame only after every sink accepted it, so after a crash the frames that
were delivered but not yet marked come again (the sinks dedupe by frame id) and none is skipped.

A mark appends one line and fsyncs it: O(1) per frame, so a ten-hour run costs what a ten-minute one does
per frame (the earlier whole-file rewrite wrote ~15 GB over such a run). A crash mid-append leaves at most
a torn last line without its newline; it is ignored, so that frame is simply delivered again.
Logs written as `<run name>.json` by earlier versions are taken over by the run's first key that asks.

A checkpoint folder deleted under a running daemon would otherwise take marks into deleted files, and the
next start would deliver every finished run again. Each mark checks that its log is still the file at its
path (one stat), and `verify` (the daemon's idle round) checks the folder: when a log is gone, the folder is
made again and every run known in memory (retired ones included, kept as one string each) is written back.
"""

import json
import logging
import os
import threading
from pathlib import Path
from typing import IO
from urllib.parse import quote

log = logging.getLogger(__name__)


class _RunState:
    """The processed frames of one run: a list for order (and last()), a set for O(1) done()."""

    def __init__(self, files: list[str]) -> None:
        self.files = files
        self.names = set(files)
        self.log: IO[str] | None = None


class Checkpoint:
    """Per-run record of processed frame files. Thread-safe: the watcher asks, the daemon marks. Runs are
    keyed by their id (`RunKey.id`); a plain run name works as a key too."""

    def __init__(self, dir: Path) -> None:
        self.dir = Path(dir)
        self._runs: dict[str, _RunState] = {}
        self._retired: dict[str, str] = {}  # run -> its marks, a name a line: to restore a deleted folder
        self._lock = threading.Lock()

    def done(self, run: str, file: str | Path) -> bool:
        """True if this frame of the run was marked as processed (now or by an earlier process)."""
        with self._lock:
            return Path(file).name in self._state(run).names

    def mark(self, run: str, file: str | Path) -> None:
        """Record a frame as processed; on disk before this returns. Marking twice is a no-op."""
        name = Path(file).name
        if "\n" in name or "\r" in name:
            raise ValueError(f"a frame name with a line break cannot be checkpointed: {name!r}")
        with self._lock:
            state = self._state(run)
            if name in state.names:
                return
            # On disk first: if the write fails, memory must not claim a mark the disk does not have.
            if state.log is not None and not _same_file(state.log, self.path(run)):
                self._restore()
            if state.log is None:
                self.dir.mkdir(parents=True, exist_ok=True)
                state.log = self.path(run).open("a", encoding="utf-8")
            state.log.write(name + "\n")
            state.log.flush()
            os.fsync(state.log.fileno())
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

    def forget(self, run: str) -> None:
        """Close a retired run's log (it is read again if the run comes back)."""
        with self._lock:
            state = self._runs.pop(run, None)
            if state is not None and state.log is not None:
                state.log.close()
            if state is not None and state.files:
                self._retired[run] = "".join(f + "\n" for f in state.files)

    def verify(self) -> bool:
        """Restore the folder if it (or a log open in it) was deleted; True if it had to. OSError if it
        cannot be made again."""
        with self._lock:
            known = any(s.files for s in self._runs.values()) or self._retired
            lost = any(
                s.log is not None and not _same_file(s.log, self.path(r)) for r, s in self._runs.items()
            )
            if not (lost or (known and not self.dir.is_dir())):
                return False
            self._restore()
            return True

    def _restore(self) -> None:
        """Make the folder again and write every known run's log back from memory (lock held); OSError if
        it cannot (the daemon reports that, once)."""
        self.dir.mkdir(parents=True, exist_ok=True)
        logs = {run: "".join(f + "\n" for f in s.files) for run, s in self._runs.items() if s.files}
        for run, text in {**self._retired, **logs}.items():
            path = self.path(run)
            tmp = path.with_name(f".{path.name}.tmp")
            tmp.write_text(text, encoding="utf-8")
            os.replace(tmp, path)
        for run, state in self._runs.items():
            if state.log is not None:
                state.log.close()
                state.log = self.path(run).open("a", encoding="utf-8")
        log.warning(
            "checkpoint folder %s was deleted: made again, the marks written back from memory", self.dir
        )

    def close(self) -> None:
        with self._lock:
            for state in self._runs.values():
                if state.log is not None:
                    state.log.close()
            self._runs.clear()

    def path(self, run: str) -> Path:
        """The run's log. Run keys may hold relative folder paths ('2024-05/run7@...'): quoted, so every
        run gets exactly one flat file and no key can escape the folder."""
        if not run or run in (".", "..") or "\0" in run:
            raise ValueError(f"invalid run name {run!r}")
        return self.dir / f"{quote(run, safe='@')}.log"

    def _state(self, run: str) -> _RunState:
        state = self._runs.get(run)
        if state is None:
            state = self._runs[run] = _RunState(self._read(run))
        return state

    def _read(self, run: str) -> list[str]:
        path = self.path(run)
        try:
            data = path.read_bytes()
        except FileNotFoundError:
            return self._adopt_legacy(run)
        except OSError as exc:  # not a folder, no permission: the daemon says so when it marks
            log.error("checkpoint %s cannot be read (%s): run %s starts afresh", path, exc.strerror, run)
            return []
        whole = data.rfind(b"\n") + 1
        if whole < len(data):
            # a line torn by a crash is not a mark: drop it, so that frame simply comes again
            log.warning(
                "checkpoint %s: a torn last line %r is dropped; that frame comes again", path, data[whole:]
            )
            with path.open("r+b") as f:
                f.truncate(whole)
        files = [line for line in data[:whole].decode("utf-8", "surrogateescape").split("\n") if line]
        return list(dict.fromkeys(files))

    def _adopt_legacy(self, run: str) -> list[str]:
        """A run checkpointed by an earlier version as `<name>.json` (whole-file rewrites): its marks
        become this key's log, so an upgrade does not process finished runs again."""
        name = run.split("@", 1)[0]
        legacy = self.dir / f"{quote(name, safe='')}.json"
        if not self.dir.is_dir():
            return []
        try:
            files = json.loads(legacy.read_text(encoding="utf-8"))["files"]
            if not isinstance(files, list) or not all(isinstance(f, str) and "\n" not in f for f in files):
                raise ValueError("'files' is not a list of names")
        except FileNotFoundError:
            return []
        except (OSError, ValueError, KeyError, TypeError) as exc:
            log.error("old checkpoint %s is unreadable (%s); run %s starts afresh", legacy, exc, name)
            return []
        self.dir.mkdir(parents=True, exist_ok=True)
        tmp = self.path(run).with_name(f".{self.path(run).name}.tmp")
        tmp.write_text("".join(f + "\n" for f in files), encoding="utf-8")
        os.replace(tmp, self.path(run))
        legacy.replace(legacy.with_name(legacy.name + ".migrated"))
        log.info("checkpoint %s taken over as %s (%d frames)", legacy.name, self.path(run).name, len(files))
        return list(dict.fromkeys(files))


def _same_file(handle: IO[str], path: Path) -> bool:
    """The open log is still the file at its path (not deleted, not replaced)."""
    try:
        st = path.stat()
    except FileNotFoundError:
        return False
    opened = os.fstat(handle.fileno())
    return (opened.st_dev, opened.st_ino) == (st.st_dev, st.st_ino)
