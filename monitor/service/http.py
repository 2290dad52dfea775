"""The daemon's HTTP server: GET /healthz (alive / ready with reasons), GET /metrics (Prometheus) and the live
page (service/web.py), on a small threaded server that stays up against hostile clients: each connection has
a timeout, the connections served at once are bounded (beyond, a quick 503), and a client that hangs up is a
debug line in the log, never a traceback on stderr.

Access: when a token is set, every path but /healthz needs it, as `Authorization: Bearer <token>`, or once
as `?token=<token>` on a page, which sets an HttpOnly cookie (a digest of the token) and redirects to the
same page without it. Beyond loopback a token is required, and /healthz gives generic reasons (no paths,
hosts or URLs)."""

import hashlib
import hmac
import json
import logging
import re
import socket
import sys
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from http.cookies import CookieError, SimpleCookie
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlencode, urlsplit

from monitor.config.service import is_loopback

log = logging.getLogger(__name__)

COOKIE = "furnace_token"
NEEDS_TOKEN = "set FURNACE_HTTP_TOKEN or http.token_file"
SAFE_REASONS = ("feed stalled",)  # reasons that never carry a path, a host or a secret
WARN_EVERY_S = 10.0
NOT_READY = "not ready (details in the service log)"
_PART_NAME = re.compile(r"[A-Za-z][\w-]{0,39}")  # one word ("mqtt", "store"): no path, host or URL
UNAUTHORIZED = b"unauthorized: open /?token=<token> once in a browser, or send Authorization: Bearer <token>"
# The page loads its own files only: no inline script, nothing from elsewhere, no framing by other sites.
CSP = "default-src 'self'; img-src 'self' data:; frame-ancestors 'none'; base-uri 'none'; form-action 'none'"
_TOKEN_IN_QUERY = re.compile(r"token=[^&\s\"]*")


@dataclass(frozen=True, slots=True)
class Health:
    alive: bool
    ready: bool
    reasons: tuple[str, ...]  # why not ready, e.g. "feed stalled for 14 s", "mqtt: broker down"


@dataclass(frozen=True, slots=True)
class Reply:
    status: int
    content_type: str
    body: bytes
    headers: tuple[tuple[str, str], ...] = ()


@dataclass(frozen=True, slots=True)
class Request:
    path: str
    query: dict[str, list[str]] = field(default_factory=dict)

    def arg(self, name: str, default: str = "") -> str:
        return self.query.get(name, [default])[0]


Route = Callable[[Request], Reply | None]  # None: not mine (404)


def public_reason(reason: str) -> str:
    """A not-ready reason fit for anyone who can reach the port: the part that names what is not ready
    ("mqtt", "store"), without the detail, which may hold a path, a broker address or a URL."""
    head, colon, _ = reason.partition(":")
    if head in SAFE_REASONS:
        return reason
    if colon and _PART_NAME.fullmatch(head):
        return f"{head}: {NOT_READY}"
    return NOT_READY


def json_reply(doc: Any, status: int = 200) -> Reply:
    return Reply(status, "application/json", json.dumps(doc, ensure_ascii=False).encode())


class _BoundedServer(ThreadingHTTPServer):
    """A thread per connection, at most `max_connections` at once; errors go to the log only."""

    daemon_threads = True
    request_queue_size = 128  # the listen backlog: a burst of clients is answered (or told busy) at once
    block_on_close = False  # stop() does not wait for slow clients: their threads end with their timeout

    def __init__(self, address: tuple[str, int], handler: type, max_connections: int) -> None:
        if ":" in address[0]:
            self.address_family = socket.AF_INET6
        self._slots = threading.BoundedSemaphore(max_connections)
        self.refused = 0
        self._warned = -WARN_EVERY_S
        super().__init__(address, handler)

    def process_request(self, request: Any, client_address: Any) -> None:
        if not self._slots.acquire(blocking=False):
            self.refused += 1
            now = time.monotonic()
            if now - self._warned >= WARN_EVERY_S:  # a flood of clients is a line now and then, not a flood
                self._warned = now
                log.warning("http: %s refused: all connections busy (%d refused so far)",
                            client_address[0], self.refused)  # fmt: skip
            try:
                request.settimeout(1.0)
                request.sendall(
                    b"HTTP/1.0 503 Service Unavailable\r\nRetry-After: 1\r\nContent-Length: 0\r\n\r\n"
                )
            except OSError:
                pass
            self.shutdown_request(request)
            return
        try:
            super().process_request(request, client_address)
        except BaseException:  # no thread started: give the slot back
            self._slots.release()
            raise

    def process_request_thread(self, request: Any, client_address: Any) -> None:
        try:
            super().process_request_thread(request, client_address)
        finally:
            self._slots.release()

    def handle_error(self, request: Any, client_address: Any) -> None:
        error = sys.exc_info()[1]
        if isinstance(error, ConnectionError | TimeoutError):  # the client left or went silent
            log.debug("http: %s: %s", client_address[0], error)
        else:
            log.error("http: request from %s failed", client_address[0], exc_info=True)


class HealthServer:
    def __init__(
        self, host: str, port: int, *, health: Callable[[], Health], metrics: Callable[[], bytes],
        routes: Route | None = None, token: str | None = None, max_connections: int = 32,
        timeout_s: float = 10.0,
    ) -> None:  # fmt: skip
        if not is_loopback(host) and not token:
            raise ValueError(f"http.host {host} is beyond loopback: {NEEDS_TOKEN}")
        self.health = health
        self.metrics = metrics
        self.routes = routes
        self.detailed = is_loopback(host)
        self._token = token.encode() if token else None
        self._cookie = hashlib.sha256(b"furnace-monitor cookie\0" + (self._token or b"")).hexdigest()
        self._server = _BoundedServer((host, port), self._handler(timeout_s), max_connections)
        self._thread = threading.Thread(target=self._server.serve_forever, name="http", daemon=True)

    @property
    def port(self) -> int:
        return int(self._server.server_address[1])

    @property
    def refused(self) -> int:
        """Connections answered 503 because all were busy."""
        return self._server.refused

    def start(self) -> None:
        self._thread.start()
        log.info("live page, /healthz and /metrics on http://%s:%d/", *self._server.server_address[:2])

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()

    def healthz(self) -> Reply:
        h = self.health()
        reasons = list(h.reasons) if self.detailed else [public_reason(r) for r in h.reasons]
        return json_reply({"alive": h.alive, "ready": h.ready, "reasons": reasons}, 200 if h.ready else 503)

    def allowed(self, header: str | None, cookie: str | None, query_token: str | None) -> bool:
        """Whether a request carries the token (compared in constant time): as a bearer header, as ?token=,
        or as the cookie, which holds a digest of it (any token fits a cookie; the browser never keeps it)."""
        if self._token is None:
            return True
        given = []
        if header and header.lower().startswith("bearer "):
            given.append(header[7:].strip().encode())
        if query_token:
            given.append(query_token.encode())
        if any(hmac.compare_digest(g, self._token) for g in given):
            return True
        try:
            morsel = SimpleCookie(cookie or "").get(COOKIE)
        except CookieError:
            morsel = None
        return morsel is not None and hmac.compare_digest(morsel.value.encode(), self._cookie.encode())

    def answer(self, method: str, target: str, headers: Any) -> Reply:
        url = urlsplit(target)
        query = parse_qs(url.query)
        if url.path == "/healthz":
            return self.healthz()
        query_token = query.pop("token", [None])[0]
        if not self.allowed(headers.get("Authorization"), headers.get("Cookie"), query_token):
            return Reply(401, "text/plain", UNAUTHORIZED,
                         (("WWW-Authenticate", 'Bearer realm="furnace-monitor"'),))  # fmt: skip
        if query_token is not None and self._token is not None:
            # The browser's way in: keep the token in a cookie and drop it from the address bar and history.
            rest = urlencode(query, doseq=True)
            cookie = f"{COOKIE}={self._cookie}; HttpOnly; SameSite=Strict; Path=/"
            location = url.path + (f"?{rest}" if rest else "")
            return Reply(303, "text/plain", b"", (("Location", location), ("Set-Cookie", cookie)))
        if url.path == "/metrics":
            return Reply(200, "text/plain; version=0.0.4", self.metrics())
        reply = self.routes(Request(url.path, query)) if self.routes else None
        return reply or Reply(404, "text/plain", b"not found\n")

    def _handler(self, timeout_s: float) -> type[BaseHTTPRequestHandler]:
        owner = self

        class Handler(BaseHTTPRequestHandler):
            timeout = timeout_s  # applied to the socket: a silent client is dropped
            server_version = "furnace-monitor"
            sys_version = ""

            def do_GET(self) -> None:
                try:
                    reply = owner.answer("GET", self.path, self.headers)
                except Exception:
                    log.exception("http: GET %s failed", urlsplit(self.path).path)
                    reply = Reply(500, "text/plain", b"internal error (see the service log)\n")
                self.send_response(reply.status)
                self.send_header("Content-Type", reply.content_type)
                if reply.status != 204:  # a 204 has no body, and says no length (RFC 9110)
                    self.send_header("Content-Length", str(len(reply.body)))
                self.send_header("Cache-Control", "no-store")
                self.send_header("X-Content-Type-Options", "nosniff")
                if not any(name.lower() == "content-security-policy" for name, _ in reply.headers):
                    self.send_header("Content-Security-Policy", CSP)  # unless the route sets its own
                for name, value in reply.headers:
                    self.send_header(name, value)
                self.end_headers()
                self.wfile.write(reply.body)

            def log_message(self, format: str, *args: object) -> None:
                if log.isEnabledFor(logging.DEBUG):  # the request line may carry ?token=: never logged
                    log.debug("http: %s", _TOKEN_IN_QUERY.sub("token=***", format % args))

        return Handler
