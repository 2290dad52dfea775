"""sd_notify: the datagrams systemd would receive, on a socket of our own."""

import socket
from pathlib import Path

import pytest

from monitor.service.systemd import notify, watchdog_interval_s


def test_notify_sends_the_state_to_the_socket(tmp_path: Path) -> None:
    path = str(tmp_path / "notify.sock")
    with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM) as server:
        server.bind(path)
        assert notify("READY=1", socket_path=path) is True
        assert notify("WATCHDOG=1", socket_path=path) is True
        assert server.recv(64) == b"READY=1"
        assert server.recv(64) == b"WATCHDOG=1"


def test_without_systemd_nothing_is_sent(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("NOTIFY_SOCKET", raising=False)
    assert notify("READY=1") is False


@pytest.mark.parametrize(("usec", "expected"), [("30000000", 15.0), (None, None), ("junk", None)])
def test_watchdog_ping_period_is_half_watchdogsec(
    monkeypatch, usec: str | None, expected: float | None
) -> None:
    if usec is None:
        monkeypatch.delenv("WATCHDOG_USEC", raising=False)
    else:
        monkeypatch.setenv("WATCHDOG_USEC", usec)
    assert watchdog_interval_s() == expected
