"""What `check-config`, `run` and `doctor` check of the machine before the daemon starts: the folders the
config names can be written (or read), the HTTP port is free, the model folders are there. Each check is one
record with what was found and what to fix; nothing is created or changed."""

import errno
import os
import socket
import tempfile
from dataclasses import dataclass
from pathlib import Path

from monitor.config import MonitorConfig, StartupError
from monitor.nets.manifest import MANIFEST_NAME
from monitor.service.lock import running_holder, state_folders

# The folders `train` writes under models.dir, named like the ModelsConfig switches (and nets.runtime's
# REGRESSOR_DIR / FORECAST_DIR, which import torch; tests/faults checks they agree).
MODEL_FOLDERS = ("temperature_progress", "forecast")


@dataclass(frozen=True, slots=True)
class Check:
    """One line of a check report."""

    name: str  # what was checked, e.g. "store.path" or "http port"
    ok: bool
    detail: str  # what was found
    fix: str = ""  # what to do about it, when not ok
    essential: bool = True  # False: a warning; the service can run without it

    def line(self) -> str:
        status = "OK  " if self.ok else ("FAIL" if self.essential else "WARN")
        text = f"{status} {self.name}: {self.detail}"
        return text if self.ok or not self.fix else f"{text} -> {self.fix}"


def existing_ancestor(path: Path) -> Path:
    """The path itself or its nearest existing ancestor (where a missing folder would be created)."""
    path = Path(os.path.abspath(path))
    while not path.exists() and path != path.parent:
        path = path.parent
    return path


def _probe_folder(folder: Path) -> str | None:
    """None if files can be created in `folder` (or in the ancestor it would be created under), else why.
    A real file is made and removed: os.access says yes to root on a read-only mount."""
    base = existing_ancestor(folder)
    if not base.is_dir():
        return f"{base} is not a folder"
    try:
        with tempfile.NamedTemporaryFile(dir=base, prefix=".furnace-monitor-probe-"):
            pass
    except OSError as exc:
        return f"cannot write in {base}: {exc.strerror}"
    return None


def writable_folder(name: str, folder: Path) -> Check:
    problem = _probe_folder(folder)
    if problem:
        return Check(name, False, problem, f"make {folder} writable by this user, or set {name} elsewhere")
    state = "writable" if folder.is_dir() else f"will be created (under {existing_ancestor(folder)})"
    return Check(name, True, f"{folder} {state}")


def writable_file(name: str, path: Path) -> Check:
    if path.exists() and not path.is_file():
        return Check(name, False, f"{path} exists and is not a file", f"set {name} to a file path")
    check = writable_folder(name, path.parent)
    if check.ok and path.is_file():
        try:
            with path.open("ab"):
                pass
        except OSError as exc:
            return Check(name, False, f"cannot write {path}: {exc.strerror}", f"make {path} writable")
        return Check(name, True, f"{path} writable")
    return check if not check.ok else Check(name, True, f"{path} will be created")


def readable_folder(name: str, folder: Path) -> Check:
    if not folder.is_dir():
        return Check(
            name, False, f"{folder} does not exist", f"create it or set {name} to the camera's folder"
        )
    if not os.access(folder, os.R_OK | os.X_OK):
        return Check(name, False, f"{folder} is not readable", f"give this user read access to {folder}")
    return Check(name, True, f"{folder} readable")


def folder_checks(config: MonitorConfig) -> list[Check]:
    checks = [
        readable_folder("ingest.watch_dir", config.ingest.watch_dir),
        writable_folder("ingest.checkpoint_dir", config.ingest.checkpoint_dir),
        writable_file("outbox.path", config.outbox.path),
    ]
    if config.store.enabled:
        checks.append(writable_file("store.path", config.store.path))
    if config.models.enabled and config.models.forecast_images is not None:
        checks.append(writable_folder("models.forecast_images", config.models.forecast_images))
    return checks


def port_check(config: MonitorConfig) -> list[Check]:
    """The HTTP port can be bound now (the same options as the server: SO_REUSEADDR)."""
    http = config.http
    if not http.enabled or http.port == 0:
        return []
    where = f"{http.host}:{http.port}"
    try:
        infos = socket.getaddrinfo(http.host, http.port, type=socket.SOCK_STREAM)
        with socket.socket(infos[0][0], socket.SOCK_STREAM) as s:
            s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            s.bind(infos[0][4])
    except OSError as exc:
        holder = running_holder(state_folders(config)) if exc.errno == errno.EADDRINUSE else None
        if holder:  # checking the config of the service that runs: its own port
            return [Check("http port", True, f"{where} in use by the running furnace-monitor (pid {holder})")]
        reason = "in use by another program" if exc.errno == errno.EADDRINUSE else (exc.strerror or str(exc))
        fix = f"stop what listens there (ss -ltnp 'sport = :{http.port}') or change http.port"
        return [Check("http port", False, f"{where} {reason}", fix)]
    return [Check("http port", True, f"{where} free")]


def model_checks(config: MonitorConfig) -> list[Check]:
    m = config.models
    if not m.enabled:
        return []
    checks = []
    for folder in MODEL_FOLDERS:
        if m.runs(folder):  # its old key and its models.heads switch
            manifest = m.dir / folder / MANIFEST_NAME
            ok = manifest.is_file()
            detail = f"{manifest} {'present' if ok else 'missing'}"
            fix = f"train it (furnace-monitor train ... -o {m.dir}) or set models.{folder}: false"
            checks.append(Check(f"models.{folder}", ok, detail, fix))
    return checks


def environment_checks(config: MonitorConfig) -> list[Check]:
    """Everything check-config can tell about this machine."""
    return [*folder_checks(config), *port_check(config), *model_checks(config)]


def require(checks: list[Check]) -> None:
    """Raise StartupError naming every essential check that failed, on one line."""
    failed = [c for c in checks if not c.ok and c.essential]
    if failed:
        raise StartupError("; ".join(f"{c.name}: {c.detail} ({c.fix})" for c in failed))
