"""Real services for the sink tests: a mosquitto broker on a free loopback port, started per test."""

import os
import subprocess
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

from tests.services import on_free_ports, start_service, stop_service
from tests.services import require_binary as _require_binary

if TYPE_CHECKING:
    from monitor.records import FrameResult
    from monitor.sinks.base import RunContext, Sink, SinkHealth
    from monitor.sinks.writer import WriterStats

MOSQUITTO = Path(os.environ.get("MOSQUITTO_BIN", "/usr/sbin/mosquitto"))
MOSQUITTO_PASSWD = Path(os.environ.get("MOSQUITTO_PASSWD_BIN", "/usr/bin/mosquitto_passwd"))
OPENSSL = Path("/usr/bin/openssl")


def require_binary(path: Path) -> Path:
    return _require_binary(path, "mosquitto")


class Mosquitto:
    """A mosquitto process on 127.0.0.1:`port`, on free ports found at the first start; `restart()` brings
    it back on the same port."""

    host = "127.0.0.1"

    def __init__(
        self,
        workdir: Path,
        *,
        users: dict[str, str] | None = None,
        persistent: bool = False,
        tls: bool = False,
    ) -> None:
        self.binary = require_binary(MOSQUITTO)
        self.workdir = workdir
        self.port = 0  # chosen by the first start()
        self.log = workdir / "mosquitto.log"
        self.lines = [f"persistence {str(persistent).lower()}"]
        if os.geteuid() == 0:
            # As root mosquitto drops to the `mosquitto` user, which cannot read pytest's private tmp dirs.
            self.lines.append("user root")
        if persistent:
            # Sessions and queued messages survive a restart, so a test subscriber misses nothing.
            self.lines += [f"persistence_location {workdir}/", "queue_qos0_messages true"]
        if users:
            passwd = require_binary(MOSQUITTO_PASSWD)
            password_file = workdir / "passwd"
            for i, (user, password) in enumerate(users.items()):
                flags = ["-b", "-c"] if i == 0 else ["-b"]
                subprocess.run(
                    [passwd, *flags, password_file, user, password], check=True, capture_output=True
                )
            self.lines += ["allow_anonymous false", f"password_file {password_file}"]
        else:
            self.lines.append("allow_anonymous true")
        self.tls_port: int | None = None
        self.ca_file: Path | None = None
        self.key_file: Path | None = None
        if tls:
            # A second listener with a self-signed certificate for 127.0.0.1; it is its own CA.
            self.ca_file, self.key_file = workdir / "cert.pem", workdir / "key.pem"
            subprocess.run(
                [require_binary(OPENSSL), "req", "-x509", "-newkey", "ec", "-pkeyopt",
                 "ec_paramgen_curve:prime256v1", "-nodes", "-keyout", self.key_file, "-out", self.ca_file,
                 "-days", "1", "-subj", "/CN=127.0.0.1", "-addext", "subjectAltName=IP:127.0.0.1"],
                check=True, capture_output=True,
            )  # fmt: skip
        self.conf = workdir / "mosquitto.conf"
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def ports(self) -> tuple[int, ...]:
        return (self.port,) if self.tls_port is None else (self.port, self.tls_port)

    def start(self, timeout: float = 10.0) -> None:
        if self.port:  # a restart: same ports, so clients reconnect to it
            self._start(self.ports, timeout)
        else:
            on_free_ports(lambda ports: self._start(ports, timeout), 2 if self.ca_file else 1)

    def _start(self, ports: tuple[int, ...], timeout: float) -> None:
        listeners = [f"listener {ports[0]} {self.host}"]
        if self.ca_file is not None:
            listeners += [
                f"listener {ports[1]} {self.host}",
                f"certfile {self.ca_file}",
                f"keyfile {self.key_file}",
            ]
        self.conf.write_text("\n".join([*listeners, *self.lines]) + "\n", encoding="utf-8")
        command = [str(self.binary), "-c", str(self.conf)]
        # ready once mosquitto itself listens on the ports: it takes connections from then on
        self.process = start_service(command, self.log, lambda: True, timeout_s=timeout, ports=ports)
        self.port, self.tls_port = ports[0], (ports[1] if self.ca_file is not None else None)

    def stop(self) -> None:
        if self.process is not None:
            stop_service(self.process)  # SIGTERM first: mosquitto saves its persistence file, if any
        self.process = None

    def restart(self) -> None:
        self.stop()
        self.start()


@pytest.fixture
def mosquitto_factory(tmp_path: Path) -> Iterator[Callable[..., Mosquitto]]:
    """Make and start brokers: `mosquitto_factory(users={"u": "p"}, persistent=True, tls=True)`; all stopped
    after the test. `tls=True` adds a TLS listener on `tls_port` whose certificate is `ca_file`."""
    brokers: list[Mosquitto] = []

    def make(
        *, users: dict[str, str] | None = None, persistent: bool = False, tls: bool = False
    ) -> Mosquitto:
        workdir = tmp_path / f"mosquitto{len(brokers)}"
        workdir.mkdir()
        broker = Mosquitto(workdir, users=users, persistent=persistent, tls=tls)
        brokers.append(broker)
        broker.start()
        return broker

    yield make
    for broker in brokers:
        broker.stop()


@pytest.fixture
def mosquitto(mosquitto_factory: Callable[..., Mosquitto]) -> Mosquitto:
    """A running anonymous broker, no persistence."""
    return mosquitto_factory()


class Delivered:
    """A sink behind an outbox and a writer of its own, as the daemon runs it (retries made quick)."""

    def __init__(self, sink: "Sink", path: Path, *, max_items: int = 500_000) -> None:
        from monitor.sinks.delivery import Delivery
        from monitor.sinks.outbox import Outbox

        self.sink = sink
        self.outbox = Outbox(path, max_items=max_items)
        self.delivery = Delivery([sink], self.outbox, retry_initial_s=0.05, retry_max_s=0.5)
        self.writer = self.delivery.writers[0]
        self.stopped = False

    def start(self) -> "Delivered":
        self.delivery.start()
        return self

    def publish(self, context: "RunContext", result: "FrameResult") -> None:
        assert self.delivery.publish(context, result)

    def stop(self, timeout: float = 5.0) -> None:
        if not self.stopped:
            self.stopped = True
            self.delivery.stop(timeout)

    def health(self) -> "SinkHealth":
        return self.writer.health()

    def stats(self) -> "WriterStats":
        return self.writer.stats()
