"""Helpers for tests that start real services (Mosquitto, InfluxDB) on loopback ports."""

import os
import shutil
import socket
import subprocess
import time
from collections.abc import Callable
from pathlib import Path

import pytest


def require_binary(path: Path, package: str) -> Path:
    """The program, else skip the test; on CI (where the Makefile installs it) a missing one fails."""
    found = path if path.is_file() and os.access(path, os.X_OK) else None
    found = found or (Path(p) if (p := shutil.which(path.name)) else None)
    if found is None:
        message = f"{path.name} is not installed (apt-get install {package})"
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail(message)
        pytest.skip(message)
    return found


def wait_until(predicate: Callable[[], bool], what: str = "the condition", timeout: float = 30.0) -> None:
    """Poll `predicate` until it holds; fail naming `what` after `timeout` seconds. Every test waits on
    conditions through this, never on a fixed sleep."""
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout:g} s waiting for {what}")
        time.sleep(0.05)


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def start_service(
    command: list, log: Path, ready: Callable[[], bool], *, timeout_s: float
) -> subprocess.Popen:
    """Start a server with its output appended to `log`; wait until `ready()`; a server that exits or never
    gets ready is stopped and reported with the end of its log."""
    with log.open("ab") as out:
        process = subprocess.Popen(command, stdout=out, stderr=subprocess.STDOUT)
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"{command[0]} exited with {process.returncode}: {_tail(log)}")
        if ready():
            return process
        time.sleep(0.05)
    stop_service(process)
    raise RuntimeError(f"{command[0]} was not ready within {timeout_s} s: {_tail(log)}")


def stop_service(process: subprocess.Popen) -> None:
    """SIGTERM (so the server saves its state), then SIGKILL if it does not go."""
    if process.poll() is None:
        process.terminate()
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=5)


def _tail(log: Path) -> str:
    return log.read_text(encoding="utf-8", errors="replace")[-2000:]
