"""The InfluxDB output: line protocol, one POST per batch of the outbox.

1.x is written through its /write endpoint, 2.x/3.x through influxdb-client. What the server said decides
what happens to a batch: unreachable or a 5xx is retried (the points wait in the outbox), a 413 is sent
again in halves, any other 4xx goes to the dead-letter table with the server's answer.
"""

import base64
import http.client
import logging
import math
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Mapping
from typing import Protocol

from monitor.config import MonitorConfig
from monitor.config.influx import InfluxConfig
from monitor.records import FrameResult, StageEvent
from monitor.sinks.base import Reject, Retry, RunContext, Sink, TooLarge
from monitor.sinks.outbox import Item
from monitor.sinks.payload import event_document, frame_fields

log = logging.getLogger(__name__)

FRAME_MEASUREMENT = "furnace_frame"
EVENT_MEASUREMENT = "furnace_event"
_INTEGER_FIELDS = frozenset({"flagged"})  # all other numbers are floats, so a whole 548 is no type conflict
_HTTP_TIMEOUT_S = 10.0
_BODY_LOG_CHARS = 1000

_NAME_ESCAPES = str.maketrans({",": r"\,", " ": r"\ ", "\n": r"\n", "\r": r"\r"})
_TAG_ESCAPES = str.maketrans({",": r"\,", "=": r"\=", " ": r"\ ", "\n": r"\n", "\r": r"\r"})
_STRING_ESCAPES = str.maketrans({"\\": "\\\\", '"': '\\"'})


def timestamp_ns(seconds: float) -> int:
    """Epoch seconds to integer ns, rounded to the millisecond: a float epoch carries sub-microsecond noise,
    and second precision would merge frames less than a second apart."""
    return round(seconds * 1000) * 1_000_000


def _field_value(key: str, value: float | int | str | bool) -> str | None:
    if isinstance(value, str):
        return '"' + value.translate(_STRING_ESCAPES) + '"'
    if isinstance(value, bool):
        return "true" if value else "false"
    if key in _INTEGER_FIELDS:
        return f"{int(value)}i"
    number = float(value)
    return repr(number) if math.isfinite(number) else None  # line protocol has no inf/nan


def line(
    measurement: str, tags: Mapping[str, str], fields: Mapping[str, float | int | str | bool], ns: int
) -> str:
    """One point in line protocol. Empty tag values are left out (the protocol forbids them)."""
    head = measurement.translate(_NAME_ESCAPES)
    for key in sorted(tags):  # sorted tags are what the server stores; it saves it the sort
        if tags[key]:
            head += f",{key.translate(_TAG_ESCAPES)}={tags[key].translate(_TAG_ESCAPES)}"
    parts = []
    for key, value in fields.items():
        text = _field_value(key, value)
        if text is not None:
            parts.append(f"{key.translate(_TAG_ESCAPES)}={text}")
    if not parts:
        raise ValueError(f"a {measurement} point needs at least one field")
    return f"{head} {','.join(parts)} {ns}"


def frame_point(context: RunContext, result: FrameResult) -> str:
    """`furnace_frame`, tags rig and run, the numeric fields of payload.frame_fields."""
    tags = {"rig": context.rig, "run": context.run}
    return line(FRAME_MEASUREMENT, tags, frame_fields(result), timestamp_ns(context.timestamp(result.time_s)))


def event_point(context: RunContext, event: StageEvent) -> str:
    """`furnace_event`, tags rig, run and type; the stable id as a string field."""
    doc = event_document(context, event)
    tags = {"rig": context.rig, "run": context.run, "type": doc["type"]}
    fields: dict[str, float | str] = {"time_s": float(doc["time_s"]), "id": doc["id"], "file": doc["file"]}
    if doc["t1_c"] is not None:
        fields["t1_c"] = float(doc["t1_c"])
    return line(EVENT_MEASUREMENT, tags, fields, timestamp_ns(doc["timestamp"]))


class WriteError(Exception):
    """A failed write: the HTTP status and answer body when the server answered, None/'' when unreachable."""

    def __init__(self, message: str, status: int | None = None, body: str = "") -> None:
        super().__init__(message)
        self.status = status
        self.body = body[:_BODY_LOG_CHARS]

    def __str__(self) -> str:
        text = super().__str__()
        return f"{text}: {self.body}" if self.body else text


class _Transport(Protocol):
    def write(self, lines: list[str]) -> None: ...

    def close(self) -> None: ...


class V1Transport:
    """POST <url>/write?db=...&precision=ns; auth as username + password (the token) via Basic auth."""

    def __init__(self, config: InfluxConfig) -> None:
        self.base = config.url.rstrip("/")
        query = urllib.parse.urlencode({"db": config.database, "precision": "ns"})
        self.endpoint = f"{self.base}/write?{query}"
        self.headers = {"Content-Type": "text/plain; charset=utf-8"}
        secret = config.token.get_secret_value() if config.token else None
        if config.username:
            pair = f"{config.username}:{secret or ''}".encode()
            self.headers["Authorization"] = "Basic " + base64.b64encode(pair).decode()
        elif secret:
            self.headers["Authorization"] = f"Token {secret}"  # 1.8+ accepts this form too
        # No proxy from the environment: the database is a local service, as for influxdb-client.
        self._opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))

    def write(self, lines: list[str]) -> None:
        body = "\n".join(lines).encode("utf-8")
        request = urllib.request.Request(self.endpoint, data=body, headers=self.headers, method="POST")
        try:
            with self._opener.open(request, timeout=_HTTP_TIMEOUT_S) as response:
                response.read()
        except urllib.error.HTTPError as e:
            answer = e.read().decode("utf-8", "replace").strip()
            raise WriteError(f"HTTP {e.code} from {self.base}", e.code, answer) from e
        except (OSError, http.client.HTTPException) as e:
            reason = getattr(e, "reason", e)
            raise WriteError(f"cannot reach {self.base}: {reason}") from e

    def close(self) -> None:
        self._opener.close()


class V2Transport:
    """influxdb-client's synchronous write API: our thread batches and retries, so the client must not."""

    def __init__(self, config: InfluxConfig) -> None:
        from influxdb_client import InfluxDBClient
        from influxdb_client.client.write_api import SYNCHRONOUS

        self.base = config.url.rstrip("/")
        self.bucket = str(config.bucket)
        self.org = str(config.org)
        token = config.token.get_secret_value() if config.token else ""  # v2 requires one (checked above)
        timeout_ms = int(_HTTP_TIMEOUT_S * 1000)
        # retries=False: the sink's writer retries, from the outbox.
        self.client = InfluxDBClient(config.url, token, org=self.org, timeout=timeout_ms, retries=False)
        self.api = self.client.write_api(write_options=SYNCHRONOUS)

    def write(self, lines: list[str]) -> None:
        from influxdb_client import WritePrecision
        from influxdb_client.rest import ApiException

        try:
            # WritePrecision.NS is the string "ns", which the stubs do not know is a WritePrecision
            precision: WritePrecision = WritePrecision.NS  # type: ignore[assignment]
            self.api.write(bucket=self.bucket, org=self.org, record=lines, write_precision=precision)
        except ApiException as e:
            answer = e.body.decode("utf-8", "replace") if isinstance(e.body, bytes) else str(e.body or "")
            raise WriteError(f"HTTP {e.status} from {self.base}", e.status, answer.strip()) from e
        except Exception as e:  # urllib3 raises its own connection errors, not OSError
            raise WriteError(f"cannot reach {self.base}: {e}") from e

    def close(self) -> None:
        self.client.close()


def make_transport(config: InfluxConfig) -> _Transport:
    return V1Transport(config) if config.api == "v1" else V2Transport(config)


def build_sink(config: MonitorConfig) -> "InfluxSink | None":
    return InfluxSink(config.influx) if config.influx.enabled else None


class InfluxSink(Sink):
    """Sink `influx`: a point per frame (droppable when the outbox is full) and per event (never dropped)."""

    name = "influx"

    def __init__(self, config: InfluxConfig) -> None:
        missing = {"v1": ["database"], "v2": ["org", "bucket", "token"]}[config.api]
        if unset := [key for key in missing if not getattr(config, key)]:
            raise ValueError(f"influx api {config.api} needs {', '.join(unset)}")
        self.config = config
        self.batch_size = config.batch_size
        self.flush_interval_s = config.flush_interval_s
        self._transport: _Transport | None = None

    @property
    def target(self) -> str:
        where = self.config.database if self.config.api == "v1" else self.config.bucket
        return f"{self.config.url} ({where})"

    def open(self) -> None:
        if self._transport is None:
            self._transport = make_transport(self.config)

    def encode(self, context: RunContext, result: FrameResult) -> list[Item]:
        return [
            Item(frame_point(context, result), droppable=True),
            *(Item(event_point(context, e)) for e in result.events),
        ]

    def write(self, payloads: list[str]) -> None:
        if self._transport is None:
            raise Retry("not started")
        try:
            self._transport.write(payloads)
        except WriteError as e:
            if e.status is None or e.status >= 500:
                raise Retry(f"{self.target}: {e}") from e
            if e.status == 413:
                raise TooLarge(str(e)) from e
            # the server parsed the batch and refused it (a type conflict, a bad point, no such database)
            raise Reject(f"{self.target} refused {len(payloads)} points: HTTP {e.status}", e.body) from e

    def close(self) -> None:
        if self._transport is not None:
            self._transport.close()
            self._transport = None
