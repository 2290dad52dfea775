"""Typed records shared between stages: stages, stage events and the events.json format."""

import json
from dataclasses import asdict, dataclass
from enum import StrEnum
from pathlib import Path
from typing import Any


class Stage(StrEnum):
    """What the sample is doing, in the order a run goes through it."""

    HEATING = "heating"
    MELTING = "melting"
    MOLTEN = "molten"
    COOLING = "cooling"
    CRYSTALLIZING = "crystallizing"
    SOLID = "solid"


class EventType(StrEnum):
    """Characteristic points of a run, in the order they happen."""

    MELTING_START = "melting_start"
    MELTING_COMPLETE = "melting_complete"
    FULLY_MOLTEN = "fully_molten"
    CRYSTALLIZATION_START = "crystallization_start"
    CRYSTALLIZATION_END = "crystallization_end"


@dataclass(frozen=True, slots=True)
class StageEvent:
    """One characteristic point: what, when (run time and frame file) and the 1# temperature then."""

    type: EventType
    time_s: float
    file: str
    t1_c: float | None

    def to_json(self) -> dict[str, Any]:
        return {**asdict(self), "type": str(self.type)}

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> "StageEvent":
        return cls(
            type=EventType(data["type"]),
            time_s=float(data["time_s"]),
            file=str(data["file"]),
            t1_c=None if data.get("t1_c") is None else float(data["t1_c"]),
        )


def write_events(path: Path, events: list[StageEvent], **extra: Any) -> None:
    """Write events.json: {"events": [...], **extra} (the format `analyze` and `simulate` share)."""
    doc = {"events": [e.to_json() for e in events], **extra}
    path.write_text(json.dumps(doc, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")


def read_events(path: Path) -> list[StageEvent]:
    """Read the events of an events.json file."""
    doc = json.loads(path.read_text(encoding="utf-8"))
    return [StageEvent.from_json(e) for e in doc["events"]]


@dataclass(frozen=True, slots=True)
class FieldRead:
    """One overlay field as read: the raw text, the accepted value (None when flagged) and why not."""

    raw: str
    value: int | None
    confidence: float
    error: str | None = None
    reread: bool = False  # the value comes from the second preprocessing
    warning: str | None = None  # accepted, but worth a look (e.g. a jump confirmed by a second read)

    @property
    def ok(self) -> bool:
        return self.value is not None and self.error is None


@dataclass(frozen=True, slots=True)
class OverlayReading:
    """The three overlay fields of one frame."""

    time: FieldRead
    t1: FieldRead
    t2: FieldRead

    def fields(self) -> dict[str, FieldRead]:
        return {"time": self.time, "t1": self.t1, "t2": self.t2}

    @property
    def flags(self) -> list[str]:
        """One 'field: reason' per field that was not accepted or is worth a look."""
        return [
            f"{name}: {f.error or f.warning}" for name, f in self.fields().items() if f.error or f.warning
        ]
