"""Ports for the real services: a port taken between the pick and the server's bind is not a failed test,
the server starts again on another one; and a server counts as up only when it listens itself."""

import socket
from pathlib import Path

import pytest

from tests.services import PortInUse, listening, on_free_ports
from tests.sinks.conftest import Mosquitto


def test_a_port_taken_meanwhile_is_replaced_by_a_fresh_one(tmp_path: Path) -> None:
    broker = Mosquitto(tmp_path)
    tried: list[tuple[int, ...]] = []
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as squatter:
        squatter.bind(("127.0.0.1", 0))
        squatter.listen()
        taken = int(squatter.getsockname()[1])

        def start(ports: tuple[int, ...]) -> None:
            tried.append(ports)
            broker._start((taken,) if len(tried) == 1 else ports, 10.0)  # the first pick was taken

        try:
            on_free_ports(start)
            assert len(tried) == 2 and broker.port == tried[1][0] != taken
            assert broker.process is not None and listening(broker.process.pid, [broker.port])
            assert not listening(broker.process.pid, [taken])  # the squatter's, not the broker's
            (tmp_path / "second").mkdir()
            with pytest.raises(PortInUse, match=r"(?i)address already in use"):
                Mosquitto(tmp_path / "second")._start((taken,), 10.0)
        finally:
            broker.stop()
