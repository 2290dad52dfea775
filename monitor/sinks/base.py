"""The sink interface, the errors a sink reports, and the run context every output needs."""

from abc import ABC, abstractmethod
from dataclasses import dataclass
from pathlib import Path
from typing import ClassVar

from monitor.records import FrameResult
from monitor.sinks.outbox import Item


@dataclass(frozen=True, slots=True)
class RunContext:
    """Which rig and run a result belongs to. `started_at` is the wall-clock epoch (s) of run time 0: a
    frame's timestamp is started_at + its time_s, so a replay of a run overwrites instead of duplicating."""

    rig: str
    run: str
    started_at: float
    folder: Path | None = None  # where the run's frames are, for snapshot paths
    run_id: str = ""  # unique per recording (RunKey.id); "" = the run name, for runs that are not watched

    @property
    def key(self) -> str:
        return self.run_id or self.run

    def snapshot(self, file: str) -> str | None:
        """Path of a frame file, so an alert points at the picture it was raised on."""
        return None if self.folder is None else str(self.folder / file)

    def timestamp(self, time_s: float) -> float:
        return self.started_at + time_s

    def frame_id(self, file: str) -> str:
        """Stable id of a frame: the same frame delivered twice carries the same id; a recycled run name
        does not (its run_id differs)."""
        return f"{self.rig}/{self.key}/{file}"

    def event_id(self, event_type: str) -> str:
        """Stable id of a stage transition: one per type per run."""
        return f"{self.rig}/{self.key}/{event_type}"


@dataclass(frozen=True, slots=True)
class SinkHealth:
    ok: bool
    detail: str  # e.g. "connected", "broker down since 12:01:03, 14 messages queued"
    queued: int = 0  # items waiting in the outbox


class Retry(Exception):
    """The destination cannot take the batch now (no connection, a timeout, a 5xx): it is sent again, with
    backoff, until it goes through."""


class TooLarge(Exception):
    """The destination refused the batch for its size (HTTP 413): it is sent again in halves."""


class Reject(Exception):
    """The destination refused the batch for good (a 4xx other than 413): a retry would fail the same way
    and hold up everything behind it, so it goes to the dead-letter table with the server's answer."""

    def __init__(self, message: str, answer: str = "") -> None:
        super().__init__(message)
        self.answer = answer


class Sink(ABC):
    """An output. It encodes each result into outbox items (in the pipeline thread) and writes batches of
    them (in its own writer thread, which owns retries, batching, counters and health: sinks/writer.py).
    `write` raises Retry, TooLarge or Reject for what the destination said; anything else is a bug.

    A module of this package with a `build_sink(config) -> Sink | None` function is a sink (registry.py):
    a new output is one file here plus its config section."""

    name: ClassVar[str]
    batch_size: int = 100  # items per write, at most
    flush_interval_s: float = 0.0  # how long a short batch may wait for more (0: write at once)

    def open(self) -> None:  # noqa: B027 - most sinks connect lazily; a no-op default is the point
        """Connect (after the constructor validated the settings); never raises for an unreachable peer."""

    def close(self) -> None:  # noqa: B027
        """Disconnect, once the writer has stopped."""

    @abstractmethod
    def encode(self, context: RunContext, result: FrameResult) -> list[Item]: ...

    def encode_feed(self, *, stalled: bool, detail: str) -> list[Item]:
        """Items telling subscribers the camera feed stalled or came back; most sinks have none."""
        return []

    @abstractmethod
    def write(self, payloads: list[str]) -> None: ...

    def status(self) -> str | None:
        """Why the destination cannot be written now (e.g. "broker down since 12:01"), or None."""
        return None
