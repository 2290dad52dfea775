"""Helpers for tests that start real services (Mosquitto, InfluxDB) on loopback ports."""

import os
import shutil
import socket
import subprocess
import time
from collections.abc import Callable, Sequence
from contextlib import ExitStack
from pathlib import Path
from typing import TypeVar

import pytest

T = TypeVar("T")
PORT_ATTEMPTS = 8


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


def free_ports(count: int) -> tuple[int, ...]:
    """`count` distinct loopback ports free right now. Only a hint: another process may bind one before
    the server does, which `on_free_ports` catches. A Python server of the test's own binds port 0 instead."""
    with ExitStack() as stack:  # all held open until all are picked, so no port comes twice
        sockets = [
            stack.enter_context(socket.socket(socket.AF_INET, socket.SOCK_STREAM)) for _ in range(count)
        ]
        for s in sockets:
            s.bind(("127.0.0.1", 0))
        return tuple(int(s.getsockname()[1]) for s in sockets)


def free_port() -> int:
    """One port free right now, for a program that takes its port in its config and reports nothing back
    (prefer `on_free_ports`, which retries when the port was taken meanwhile)."""
    return free_ports(1)[0]


class PortInUse(RuntimeError):
    """A server could not bind a port it was given: taken by another process since it was picked."""


def on_free_ports(start: Callable[[tuple[int, ...]], T], count: int = 1) -> T:
    """Start a server that takes fixed ports (mosquitto and influxd cannot bind port 0 and report it): pick
    `count` free ports and call `start(ports)`; when it raises PortInUse (another process took a port between
    the pick and the bind), start again on fresh ports, up to PORT_ATTEMPTS times."""
    for attempt in range(1, PORT_ATTEMPTS + 1):
        ports = free_ports(count)
        try:
            return start(ports)
        except PortInUse:
            if attempt == PORT_ATTEMPTS:
                raise
    raise AssertionError("unreachable")


def listening(pid: int, ports: Sequence[int]) -> bool:
    """Whether process `pid` itself listens on every one of `ports` (TCP, IPv4). A probe alone could be
    answered by another process that holds the port, while ours is failing to bind it."""
    wanted = {f"{port:04X}" for port in ports}
    inodes: dict[str, str] = {}  # port (hex) -> socket inode, listening sockets only
    with open("/proc/net/tcp", encoding="ascii") as table:
        for row in table.read().splitlines()[1:]:
            fields = row.split()
            port, state = fields[1].rsplit(":", 1)[1], fields[3]
            if state == "0A" and port in wanted:  # 0A: TCP_LISTEN
                inodes[port] = fields[9]
    if set(inodes) != wanted:
        return False
    try:
        owned = {os.readlink(f"/proc/{pid}/fd/{fd}") for fd in os.listdir(f"/proc/{pid}/fd")}
    except OSError:  # the process is gone
        return False
    return all(f"socket:[{inode}]" in owned for inode in inodes.values())


def start_service(
    command: list, log: Path, ready: Callable[[], bool], *, timeout_s: float, ports: Sequence[int] = ()
) -> subprocess.Popen:
    """Start a server with its output appended to `log`; wait until it listens on `ports` itself and
    `ready()` holds. A server that exits is reported with its log since this start (PortInUse when it could
    not bind); one that never gets ready is stopped."""
    offset = log.stat().st_size if log.exists() else 0
    with log.open("ab") as out:
        process = subprocess.Popen(command, stdout=out, stderr=subprocess.STDOUT)
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if process.poll() is not None:
            said = _since(log, offset)
            error = PortInUse if "address already in use" in said.lower() else RuntimeError
            raise error(f"{command[0]} exited with {process.returncode}: {said[-2000:]}")
        if listening(process.pid, ports) and ready():
            return process
        time.sleep(0.05)
    stop_service(process)
    raise RuntimeError(f"{command[0]} was not ready within {timeout_s} s: {_since(log, offset)[-2000:]}")


def stop_service(process: subprocess.Popen) -> None:
    """SIGTERM (so the server saves its state), then SIGKILL if it does not go."""
    if process.poll() is None:
        process.terminate()
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=5)


def _since(log: Path, offset: int) -> str:
    with log.open("rb") as f:
        f.seek(offset)
        return f.read().decode("utf-8", errors="replace")
