"""The sink interface and the run context every output needs."""

from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

from monitor.records import FrameResult


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
    queued: int = 0  # messages waiting for delivery (memory + disk)


class Sink(Protocol):
    """Validate early (constructor), connect late (start), never block the pipeline (publish buffers)."""

    name: str

    def start(self) -> None: ...

    def publish(self, context: RunContext, result: FrameResult) -> None: ...

    def stop(self) -> None: ...

    def health(self) -> SinkHealth: ...
