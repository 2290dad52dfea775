"""A real InfluxDB 1.x server for the tests: influxd on free loopback ports, data under a temporary folder.

The server can be stopped and started again on the same port and data folder, so a test can stage an
outage and check that nothing written before, during or after it is lost.
"""

import json
import subprocess
import urllib.error
import urllib.parse
import urllib.request
from pathlib import Path
from types import TracebackType
from typing import Any

from tests.services import on_free_ports, require_binary, start_service, stop_service

INFLUXD = "/usr/bin/influxd"


def require_influxd() -> str:
    # Debian's 1.x first: an influxd 2.x elsewhere on PATH takes another config format.
    return str(require_binary(Path(INFLUXD), "influxdb"))


class InfluxServer:
    """influxd 1.x with auth off, no reporting, no _internal monitor; use as a context manager."""

    def __init__(self, root: Path, *, max_body_bytes: int = 25_000_000) -> None:
        self.binary = require_influxd()
        self.root = root
        self.max_body_bytes = max_body_bytes  # a larger write body is answered 413
        self.port = self.rpc_port = 0  # chosen by the first start()
        self.config_path = root / "influxdb.conf"
        self.log_path = root / "influxd.log"
        self._process: subprocess.Popen[bytes] | None = None
        root.mkdir(parents=True, exist_ok=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def running(self) -> bool:
        return self._process is not None and self._process.poll() is None

    def _config(self) -> str:
        return f"""reporting-disabled = true
bind-address = "127.0.0.1:{self.rpc_port}"

[meta]
  dir = "{self.root / "meta"}"
  logging-enabled = false

[data]
  dir = "{self.root / "data"}"
  wal-dir = "{self.root / "wal"}"
  query-log-enabled = false

[monitor]
  store-enabled = false

[subscriber]
  enabled = false

[continuous_queries]
  enabled = false

[http]
  enabled = true
  bind-address = "127.0.0.1:{self.port}"
  auth-enabled = false
  log-enabled = false
  max-body-size = {self.max_body_bytes}
"""

    def start(self, timeout_s: float = 30.0) -> None:
        """Start influxd (again: same port, same data) and wait until /ping answers 204."""
        if self.running:
            return
        if self.port:  # again: the same ports, which clients know
            self._start((self.port, self.rpc_port), timeout_s)
        else:
            on_free_ports(lambda ports: self._start(ports, timeout_s), 2)

    def _start(self, ports: tuple[int, ...], timeout_s: float) -> None:
        self.port, self.rpc_port = ports
        self.config_path.write_text(self._config(), encoding="utf-8")
        command = [self.binary, "-config", str(self.config_path)]
        self._process = start_service(command, self.log_path, self.ping, timeout_s=timeout_s, ports=ports)

    def stop(self) -> None:
        if self._process is not None:
            stop_service(self._process)
        self._process = None

    def ping(self) -> bool:
        try:
            with urllib.request.urlopen(f"{self.url}/ping", timeout=1) as response:
                return response.status == 204
        except OSError:
            return False

    def query(self, q: str, db: str | None = None) -> dict[str, Any]:
        """Run InfluxQL; timestamps come back as integer nanoseconds."""
        params = {"q": q, "epoch": "ns", **({"db": db} if db else {})}
        data = urllib.parse.urlencode(params).encode()
        with urllib.request.urlopen(f"{self.url}/query", data=data, timeout=10) as response:
            return json.loads(response.read())

    def create_database(self, name: str) -> None:
        self.query(f'CREATE DATABASE "{name}"')

    def rows(self, q: str, db: str) -> list[dict[str, Any]]:
        """The rows of a SELECT as dicts (column -> value), tags of GROUP BY * merged in."""
        out: list[dict[str, Any]] = []
        for result in self.query(q, db).get("results", []):
            if "error" in result:
                raise RuntimeError(result["error"])
            for series in result.get("series", []):
                for values in series["values"]:
                    out.append(
                        {**series.get("tags", {}), **dict(zip(series["columns"], values, strict=True))}
                    )
        return out

    def count(self, measurement: str, db: str) -> int:
        """Points in a measurement (counted over its always-present time_s field)."""
        rows = self.rows(f'SELECT count("time_s") FROM "{measurement}"', db)
        return int(rows[0]["count"]) if rows else 0

    def __enter__(self) -> "InfluxServer":
        self.start()
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()
