"""The InfluxDB output: line protocol through a disk buffer, written in batches by a background thread.

Every point is stored on disk before anything is sent and removed only once the server accepted it, so an
outage or a restart loses nothing (up to the buffer's bound). 1.x is written through its /write endpoint,
2.x/3.x through influxdb-client. Every failed write is logged with the server's status and answer.
"""

import base64
import http.client
import logging
import math
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Mapping
from pathlib import Path
from typing import Protocol

from monitor.config.influx import InfluxConfig
from monitor.records import FrameResult, StageEvent
from monitor.sinks.base import RunContext, SinkHealth
from monitor.sinks.buffer import DiskBuffer
from monitor.sinks.payload import event_document, frame_fields

log = logging.getLogger(__name__)

FRAME_MEASUREMENT = "furnace_frame"
EVENT_MEASUREMENT = "furnace_event"
_INTEGER_FIELDS = frozenset({"flagged"})  # all other numbers are floats, so a whole 548 is no type conflict
_HTTP_TIMEOUT_S = 10.0
_BODY_LOG_CHARS = 1000
# Answers a retry cannot change: the server parsed the batch and refused (some of) it for good.
_PERMANENT_STATUSES = frozenset({400, 422})

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

    @property
    def permanent(self) -> bool:
        return self.status in _PERMANENT_STATUSES

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
        token = config.token.get_secret_value() if config.token else None
        timeout_ms = int(_HTTP_TIMEOUT_S * 1000)
        # retries=False: the sink's own backoff retries, from the disk buffer.
        self.client = InfluxDBClient(config.url, token, org=self.org, timeout=timeout_ms, retries=False)
        self.api = self.client.write_api(write_options=SYNCHRONOUS)

    def write(self, lines: list[str]) -> None:
        from influxdb_client import WritePrecision
        from influxdb_client.rest import ApiException

        try:
            self.api.write(bucket=self.bucket, org=self.org, record=lines, write_precision=WritePrecision.NS)
        except ApiException as e:
            answer = e.body.decode("utf-8", "replace") if isinstance(e.body, bytes) else str(e.body or "")
            raise WriteError(f"HTTP {e.status} from {self.base}", e.status, answer.strip()) from e
        except Exception as e:  # urllib3 raises its own connection errors, not OSError
            raise WriteError(f"cannot reach {self.base}: {e}") from e

    def close(self) -> None:
        self.client.close()


def make_transport(config: InfluxConfig) -> _Transport:
    return V1Transport(config) if config.api == "v1" else V2Transport(config)


class InfluxSink:
    """Sink `influx`: publish() only appends to the disk buffer; a thread writes it out in batches."""

    name = "influx"

    def __init__(
        self,
        config: InfluxConfig,
        buffer_dir: Path,
        *,
        max_buffered: int = 500_000,
        retry_initial_s: float = 1.0,
        retry_max_s: float = 30.0,
        stop_timeout_s: float = 10.0,
    ) -> None:
        missing = {"v1": ["database"], "v2": ["org", "bucket", "token"]}[config.api]
        if unset := [key for key in missing if not getattr(config, key)]:
            raise ValueError(f"influx api {config.api} needs {', '.join(unset)}")
        self.config = config
        self.buffer = DiskBuffer(buffer_dir / "influx-buffer.sqlite", max_buffered)
        self.retry_initial_s = retry_initial_s
        self.retry_max_s = retry_max_s
        self.stop_timeout_s = stop_timeout_s
        self.written = 0  # points the server accepted
        self.failed = 0  # failed write requests (each is logged)
        self.rejected = 0  # points the server refused for good (malformed, type conflict), not retried
        self.lost = 0  # points that could not even be buffered (disk error)
        self._batch_limit = config.batch_size
        self._backoff = 0.0
        self._error: WriteError | None = None
        self._down_since: float | None = None
        self._transport: _Transport | None = None
        self._thread: threading.Thread | None = None
        self._wake = threading.Event()
        self._stopping = threading.Event()
        self._stop_deadline = 0.0
        self._closed = False

    @property
    def target(self) -> str:
        where = self.config.database if self.config.api == "v1" else self.config.bucket
        return f"{self.config.url} ({where})"

    def start(self) -> None:
        if self._thread is not None:
            return
        if self._closed:  # started again after a stop
            self.buffer = DiskBuffer(self.buffer.path, self.buffer.max_items)
            self._closed = False
        self._transport = make_transport(self.config)
        self._stopping.clear()
        if len(self.buffer):
            log.info("influx: %d points from before are waiting in %s", len(self.buffer), self.buffer.path)
        self._thread = threading.Thread(target=self._run, name="influx-writer", daemon=True)
        self._thread.start()

    def publish(self, context: RunContext, result: FrameResult) -> None:
        try:
            points = [frame_point(context, result), *(event_point(context, e) for e in result.events)]
            self.buffer.extend(points)
        except Exception:
            # The pipeline goes on whatever happens here; the loss is logged and counted.
            self.lost += 1 + len(result.events)
            log.exception("influx: could not buffer the points of frame %s", result.file)
            return
        if len(self.buffer) >= self._batch_limit:
            self._wake.set()

    def _run(self) -> None:
        while True:
            if self._stopping.is_set():
                remaining = self._stop_deadline - time.monotonic()
                if not len(self.buffer) or remaining <= 0:
                    return
                if self._backoff:
                    time.sleep(min(self._backoff, remaining))
            elif self._backoff:
                self._stopping.wait(self._backoff)  # a stop cuts the wait short: one last attempt
            elif len(self.buffer) < self._batch_limit:
                self._wake.wait(self.config.flush_interval_s)
            self._wake.clear()
            try:
                self._flush_batch()
            except Exception:  # a bug here must not end delivery for the rest of the run
                self.failed += 1
                self._backoff = self._next_backoff()
                log.exception("influx: unexpected error while writing; retry in %.1f s", self._backoff)

    def _next_backoff(self) -> float:
        return min(max(self._backoff * 2, self.retry_initial_s), self.retry_max_s)

    def _flush_batch(self) -> None:
        assert self._transport is not None
        batch = self.buffer.peek(self._batch_limit)
        if not batch:
            return
        try:
            self._transport.write([text for _, text in batch])
        except WriteError as e:
            self._on_error(e, batch)
            return
        self.buffer.ack(i for i, _ in batch)
        self.written += len(batch)
        if self._error is not None:
            log.info("influx: writing to %s again, %d points still buffered", self.target, len(self.buffer))
        self._error, self._down_since, self._backoff = None, None, 0.0
        self._batch_limit = self.config.batch_size

    def _on_error(self, e: WriteError, batch: list[tuple[int, str]]) -> None:
        self.failed += 1
        self._error = e
        self._down_since = self._down_since or time.time()
        level = logging.WARNING if e.status is None else logging.ERROR
        if e.status == 413 and len(batch) > 1:
            self._batch_limit = max(1, len(batch) // 2)  # the request was too large: retry in halves
            log.error(f"influx: write of {len(batch)} points refused: {e}; retrying in halves")
        elif e.permanent:
            # The server parsed the batch and refused points in it (it keeps the valid ones): a retry
            # would fail the same way and block everything behind it.
            self.buffer.ack(i for i, _ in batch)
            self.rejected += len(batch)
            self._backoff = 0.0
            log.error("influx: %s refused a batch of %d points: %s; not retried", self.target, len(batch), e)
        else:
            self._backoff = self._next_backoff()
            retry = f"{len(self.buffer)} points buffered, retry in {self._backoff:.1f} s"
            log.log(level, f"influx: write of {len(batch)} points to {self.target} failed: {e}; {retry}")

    def stop(self, timeout_s: float | None = None) -> None:
        """Deliver what is buffered, waiting at most timeout_s; what is left stays on disk for next time."""
        thread, self._thread = self._thread, None
        if thread is not None:
            self._stop_deadline = time.monotonic() + (self.stop_timeout_s if timeout_s is None else timeout_s)
            self._stopping.set()
            self._wake.set()
            thread.join(max(0.0, self._stop_deadline - time.monotonic()) + _HTTP_TIMEOUT_S + 1)
            if thread.is_alive():
                log.error("influx: the writer did not stop; leaving the buffer open")
                return
        if len(self.buffer):
            log.warning(f"influx: {len(self.buffer)} points stay buffered in {self.buffer.path}")
        if self._transport is not None:
            self._transport.close()
            self._transport = None
        self.buffer.close()
        self._closed = True

    def stats(self) -> dict[str, int]:
        return {
            "written": self.written,
            "failed": self.failed,
            "rejected": self.rejected,
            "buffered": len(self.buffer),
            "dropped": self.buffer.dropped,
            "lost": self.lost,
        }

    def health(self) -> SinkHealth:
        queued = len(self.buffer)
        e = self._error
        if e is None:
            detail = f"writing to {self.target}: {self.written} points written, {queued} buffered"
            return SinkHealth(ok=True, detail=detail, queued=queued)
        since = time.strftime("%H:%M:%S", time.localtime(self._down_since))
        state = "database refuses points" if e.permanent else "database down"
        detail = f"{state} since {since}: {e}, {queued} points buffered"
        if self.buffer.dropped:
            detail += f", {self.buffer.dropped} dropped (buffer full)"
        return SinkHealth(ok=False, detail=detail, queued=queued)
