"""The daemon's HTTP server against careless set-ups and hostile clients: the token (refused without it,
served with it, the browser's cookie), the rule that beyond loopback needs one, /healthz reasons that name
no path or address beyond loopback, and half-open or vanishing connections that neither hold threads nor
print tracebacks."""

import http.client
import logging
import socket
import struct
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from monitor.config import ConfigError, parse_config
from monitor.service.http import Health, HealthServer, Reply, Request
from monitor.service.live import LiveBoard
from monitor.service.web import LivePage
from tests.services import wait_until

# issue 16, network rows: no token beyond loopback, half-open clients (run with -m faults too)
pytestmark = pytest.mark.faults

TOKEN = "s3cret-token-for-the-tests-0123"
REASONS = (
    "feed stalled: no frame for more than 30 s",
    "store: store /var/lib/furnace-monitor/furnace.sqlite: disk I/O error (since 12:01:03)",
    "mqtt: broker mqtt.plant.example:1883 down (since 12:01:03), 14 waiting",
    "cannot write /var/lib/furnace-monitor/checkpoints",
    "influx http://db.plant.example:8086/write: refused",
)
BIG = b"x" * (4 << 20)


def _big(request: Request) -> Reply | None:
    """A large answer: a client that hangs up meets a broken pipe while it is written."""
    return Reply(200, "application/octet-stream", BIG) if request.path == "/big" else None


def _server(host: str = "127.0.0.1", **kwargs: object) -> HealthServer:
    page = LivePage(LiveBoard(), health=_health, writers=[], store=None, detailed=True)
    kwargs.setdefault("routes", page)
    server = HealthServer(host, 0, health=_health, metrics=lambda: b"furnace_up 1\n", **kwargs)  # type: ignore[arg-type]
    server.start()
    return server


def _health() -> Health:
    return Health(alive=True, ready=False, reasons=REASONS)


@pytest.fixture
def guarded() -> Iterator[HealthServer]:
    server = _server(token=TOKEN)
    yield server
    server.stop()


def _get(port: int, path: str, headers: dict[str, str] | None = None) -> http.client.HTTPResponse:
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    connection.request("GET", path, headers=headers or {})
    answer = connection.getresponse()
    answer.read()
    connection.close()
    return answer


def test_without_the_token_nothing_but_healthz_is_served(guarded: HealthServer) -> None:
    for path in ("/", "/static/live.js", "/api/live", "/api/runs", "/metrics", "/live/frame"):
        answer = _get(guarded.port, path)
        assert answer.status == 401, path
        assert answer.getheader("WWW-Authenticate", "").startswith("Bearer")
    assert _get(guarded.port, "/", {"Authorization": "Bearer wrong-token-of-the-same-size"}).status == 401
    assert _get(guarded.port, "/", {"Cookie": "furnace_token=wrong"}).status == 401
    assert _get(guarded.port, "/?token=wrong").status == 401
    assert _get(guarded.port, "/healthz").status == 503  # open, for the HEALTHCHECK and load balancers


def test_with_the_token_the_page_is_served(guarded: HealthServer) -> None:
    bearer = {"Authorization": f"Bearer {TOKEN}"}
    page = _get(guarded.port, "/", bearer)
    assert page.status == 200 and page.getheader("Content-Type", "").startswith("text/html")
    assert _get(guarded.port, "/metrics", bearer).status == 200
    assert _get(guarded.port, "/static/live.js", bearer).status == 200
    # The browser's way: ?token= once, a cookie from then on, and the token gone from the address.
    first = _get(guarded.port, f"/?token={TOKEN}&x=1")
    assert first.status == 303 and first.getheader("Location") == "/?x=1"
    cookie = first.getheader("Set-Cookie", "")
    assert "HttpOnly" in cookie and "SameSite=Strict" in cookie and TOKEN not in cookie
    assert _get(guarded.port, "/api/live", {"Cookie": f"furnace_token={TOKEN}"}).status == 401
    assert _get(guarded.port, "/api/live", {"Cookie": cookie.split(";")[0]}).status == 200


def test_unknown_paths_and_escapes_are_not_found(guarded: HealthServer) -> None:
    bearer = {"Authorization": f"Bearer {TOKEN}"}
    for path in ("/nope", "/static/../http.py", "/static/index.htm", "/live/snapshot/../../etc/passwd",
                 "/runs/../../etc/passwd", "/runs/x/table.csv"):  # fmt: skip
        assert _get(guarded.port, path, bearer).status == 404, path


def test_beyond_loopback_a_token_is_required() -> None:
    with pytest.raises(ValueError, match=r"beyond loopback: set FURNACE_HTTP_TOKEN or http\.token_file"):
        HealthServer("0.0.0.0", 0, health=_health, metrics=lambda: b"")
    with pytest.raises(ConfigError) as refused:
        parse_config({"http": {"host": "0.0.0.0"}}, env={})
    assert "\n" not in str(refused.value) and "FURNACE_HTTP_TOKEN" in str(refused.value)
    assert parse_config({"http": {"host": "0.0.0.0"}}, env={"FURNACE_HTTP_TOKEN": TOKEN}).http.token
    with pytest.raises(ConfigError, match="not read from the config file"):
        parse_config({"http": {"host": "0.0.0.0", "token": TOKEN}}, env={})
    with pytest.raises(ConfigError) as refused:  # an error about the token never shows the token
        parse_config({"http": {"host": "0.0.0.0", "port": -1}}, env={"FURNACE_HTTP_TOKEN": TOKEN})
    assert "http.port" in str(refused.value) and TOKEN not in str(refused.value)
    with pytest.raises(ConfigError, match="token is empty"):
        parse_config({}, env={"FURNACE_HTTP_TOKEN": ""})
    for host in ("127.0.0.1", "127.0.1.1", "localhost", "::1"):
        assert parse_config({"http": {"host": host}}, env={}).http.token is None


def test_the_token_can_come_from_a_file(tmp_path: Path) -> None:
    (tmp_path / "token").write_text(TOKEN + "\n", encoding="utf-8")
    config = parse_config({"http": {"host": "0.0.0.0", "token_file": str(tmp_path / "token")}}, env={})
    assert config.http.token is not None and config.http.token.get_secret_value() == TOKEN
    assert TOKEN not in repr(config) and TOKEN not in config.model_dump_json()


def test_healthz_beyond_loopback_names_no_path_host_or_url() -> None:
    public = _server("0.0.0.0", token=TOKEN)
    local = _server(token=TOKEN)
    try:
        reasons = _reasons(public.port)
        assert reasons[0] == REASONS[0]
        assert reasons[1:] == [
            "store: not ready (details in the service log)",
            "mqtt: not ready (details in the service log)",
            "not ready (details in the service log)",
            "not ready (details in the service log)",
        ]
        assert _reasons(local.port) == list(REASONS)  # loopback: the detail, for whoever sits at the machine
    finally:
        public.stop()
        local.stop()


def _reasons(port: int) -> list[str]:
    import json

    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    connection.request("GET", "/healthz")
    doc = json.loads(connection.getresponse().read())
    connection.close()
    return list(doc["reasons"])


@pytest.fixture
def pytest_logging_only(monkeypatch: pytest.MonkeyPatch) -> None:
    """The root logger with pytest's own handlers only: a handler an earlier test's `setup_logging` left on
    a closed capture stream would write its own "Logging error" to stderr, which is not the server's."""
    root = logging.getLogger()
    ours = [h for h in root.handlers if type(h).__module__ == "_pytest.logging"]
    monkeypatch.setattr(root, "handlers", ours)


@pytest.mark.usefixtures("pytest_logging_only")
def test_half_open_and_vanishing_clients_hold_no_thread_and_print_nothing(
    capfd: pytest.CaptureFixture[str], caplog: pytest.LogCaptureFixture
) -> None:
    threads = threading.active_count()
    server = _server(routes=_big, max_connections=4, timeout_s=1.0)
    try:
        # 40 clients that start a request and never finish it: 4 are served (and dropped at the timeout),
        # the others are told at once that the server is busy.
        silent = [socket.create_connection(("127.0.0.1", server.port)) for _ in range(40)]
        for s in silent:
            s.sendall(b"GET / HTTP/1.1\r\nHost: x\r\n")
            s.settimeout(15)
        assert threading.active_count() <= threads + 1 + 4  # the server's own thread and 4 connections
        answers = [_read_all(s) for s in silent]
        busy = [a for a in answers if a.startswith(b"HTTP/1.0 503")]
        assert len(busy) == server.refused >= 30
        assert answers.count(b"") == len(silent) - len(busy)  # the served ones, dropped when they went silent
        wait_until(lambda: threading.active_count() <= threads + 1, "the connection threads to end")
        assert _get(server.port, "/big").status == 200  # slots are free again

        # 20 clients that ask for 4 MB and reset the connection at once: the server's writes fail.
        for _ in range(20):
            s = socket.create_connection(("127.0.0.1", server.port))
            s.sendall(b"GET /big HTTP/1.0\r\n\r\n")
            s.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            s.close()
        wait_until(lambda: threading.active_count() <= threads + 1, "the writing threads to end")
    finally:
        for s in silent:
            s.close()
        server.stop()
    assert _get_refused(server.port)
    err = capfd.readouterr().err
    assert "Traceback" not in err and "Error" not in err, err
    assert any(
        "all connections busy" in r.getMessage() for r in caplog.records if r.levelno == logging.WARNING
    )


def _read_all(s: socket.socket) -> bytes:
    data = b""
    while chunk := s.recv(4096):
        data += chunk
    return data


def _get_refused(port: int) -> bool:
    """The port is closed once the server stopped."""
    try:
        socket.create_connection(("127.0.0.1", port), timeout=2).close()
    except OSError:
        return True
    return False


def test_run_beyond_loopback_without_a_token_exits_2_with_one_line(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    from monitor.cli import main

    monkeypatch.delenv("FURNACE_HTTP_TOKEN", raising=False)
    config = tmp_path / "monitor.yaml"
    config.write_text("http: {host: 0.0.0.0, port: 0}\n", encoding="utf-8")
    assert main(["run", "-c", str(config)]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and "Traceback" not in err
    assert "http.host 0.0.0.0 is beyond loopback: set FURNACE_HTTP_TOKEN or http.token_file" in err
