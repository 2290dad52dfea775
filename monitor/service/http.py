"""GET /healthz (alive / ready with reasons) and GET /metrics (Prometheus), on a small threaded server."""

import json
import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class Health:
    alive: bool
    ready: bool
    reasons: tuple[str, ...]  # why not ready, e.g. "feed stalled for 14 s", "mqtt: broker down"


class HealthServer:
    def __init__(
        self, host: str, port: int, *, health: Callable[[], Health], metrics: Callable[[], bytes]
    ) -> None:
        owner = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                if self.path.split("?")[0] == "/healthz":
                    h = owner.health()
                    body = json.dumps(
                        {"alive": h.alive, "ready": h.ready, "reasons": list(h.reasons)}
                    ).encode()
                    self._send(200 if h.alive and h.ready else 503, "application/json", body)
                elif self.path.split("?")[0] == "/metrics":
                    self._send(200, "text/plain; version=0.0.4", owner.metrics())
                else:
                    self._send(404, "text/plain", b"not found\n")

            def _send(self, status: int, kind: str, body: bytes) -> None:
                self.send_response(status)
                self.send_header("Content-Type", kind)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, format: str, *args: object) -> None:
                log.debug("http: " + format, *args)

        self.health = health
        self.metrics = metrics
        self._server = ThreadingHTTPServer((host, port), Handler)
        self._thread = threading.Thread(target=self._server.serve_forever, name="http", daemon=True)

    @property
    def port(self) -> int:
        return self._server.server_address[1]

    def start(self) -> None:
        self._thread.start()
        log.info("health and metrics on http://%s:%d/healthz, /metrics", *self._server.server_address[:2])

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()
