"""One daemon per state folder: an exclusive flock on a lock file in each folder the daemon writes its state
to (checkpoints, outbox, store). The kernel drops the lock when the process dies, so a crash never leaves a
stale lock; the file keeps the holder's pid to name it."""

import fcntl
import os
from pathlib import Path

from monitor.config import MonitorConfig, StartupError

LOCK_NAME = ".furnace-monitor.lock"


def state_folders(config: MonitorConfig) -> list[Path]:
    folders = {
        Path(os.path.abspath(config.ingest.checkpoint_dir)),
        Path(os.path.abspath(config.outbox.path)).parent,
    }
    if config.store.enabled:
        folders.add(Path(os.path.abspath(config.store.path)).parent)
    return sorted(folders)


class StateLock:
    """Held from acquire() to release(); a second holder gets StartupError naming the first one's pid."""

    def __init__(self, folders: list[Path]) -> None:
        self.folders = folders
        self._fds: list[int] = []

    def acquire(self) -> "StateLock":
        try:
            for folder in self.folders:
                self._fds.append(_lock(folder))
        except BaseException:
            self.release()
            raise
        return self

    def release(self) -> None:
        for fd in self._fds:
            os.close(fd)  # closing drops the flock
        self._fds.clear()


def _lock(folder: Path) -> int:
    path = folder / LOCK_NAME
    try:
        folder.mkdir(parents=True, exist_ok=True)
        fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o644)
    except OSError as exc:
        raise StartupError(f"cannot create the lock file {path}: {exc.strerror}") from None
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        holder = os.pread(fd, 32, 0).decode("ascii", "replace").strip() or "unknown"
        os.close(fd)
        raise StartupError(
            f"another furnace-monitor (pid {holder}) is running on the state folder {folder}; "
            "stop it first, or give this one other ingest.checkpoint_dir, outbox.path and store.path"
        ) from None
    os.ftruncate(fd, 0)
    os.pwrite(fd, f"{os.getpid()}\n".encode("ascii"), 0)
    return fd


def running_holder(folders: list[Path]) -> str | None:
    """The pid of another daemon holding the lock of any of `folders`, else None. Creates nothing."""
    for folder in folders:
        try:
            fd = os.open(folder / LOCK_NAME, os.O_RDONLY | os.O_CLOEXEC)
        except OSError:
            continue
        try:
            fcntl.flock(fd, fcntl.LOCK_SH | fcntl.LOCK_NB)
        except BlockingIOError:
            holder = os.pread(fd, 32, 0).decode("ascii", "replace").strip() or "unknown"
            if holder != str(os.getpid()):  # `run` itself holds it while it checks its port
                return holder
        finally:
            os.close(fd)  # also drops the shared lock just taken
    return None
