"""sd_notify without a dependency: one datagram to $NOTIFY_SOCKET (READY=1, WATCHDOG=1, STOPPING=1)."""

import os
import socket


def notify(state: str, *, socket_path: str | None = None) -> bool:
    """Tell systemd about the service state; False when not run under systemd (no NOTIFY_SOCKET)."""
    path = socket_path or os.environ.get("NOTIFY_SOCKET")
    if not path:
        return False
    if path.startswith("@"):  # an abstract socket
        path = "\0" + path[1:]
    with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM) as sock:
        sock.connect(path)
        sock.sendall(state.encode())
    return True


def watchdog_interval_s() -> float | None:
    """Half of systemd's WatchdogSec (from $WATCHDOG_USEC), the usual ping period; None without a watchdog."""
    usec = os.environ.get("WATCHDOG_USEC")
    return int(usec) / 2e6 if usec and usec.isdigit() else None
