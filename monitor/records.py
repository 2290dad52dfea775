"""Typed records shared between stages: stages, stage events and the events.json format, frame flags."""

import json
import math
from dataclasses import asdict, dataclass
from enum import StrEnum
from pathlib import Path
from typing import Any

import numpy as np

# the models' records live with the heads' declarations; imported from here too, as before
from monitor.predictions import Forecast as Forecast
from monitor.predictions import Prediction as Prediction


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
class Evidence:
    """One signal behind an event: what was measured, against which threshold."""

    signal: str  # e.g. "level step", "sample contrast step", "1# below fully molten"
    value: float
    threshold: float
    note: str = ""


@dataclass(frozen=True, slots=True)
class StageEvent:
    """One characteristic point: what, when (run time and frame file), the 1# temperature then, how sure the
    detector is (0..1) and the signals that support it."""

    type: EventType
    time_s: float
    file: str
    t1_c: float | None
    confidence: float = 1.0
    evidence: tuple[Evidence, ...] = ()

    def to_json(self) -> dict[str, Any]:
        return {**asdict(self), "type": str(self.type), "evidence": [asdict(e) for e in self.evidence]}

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> "StageEvent":
        return cls(
            type=EventType(data["type"]),
            time_s=float(data["time_s"]),
            file=str(data["file"]),
            t1_c=None if data.get("t1_c") is None else float(data["t1_c"]),
            confidence=float(data.get("confidence", 1.0)),
            evidence=tuple(Evidence(**e) for e in data.get("evidence", ())),
        )


@dataclass(frozen=True, slots=True)
class MissedEvent:
    """An event the run did not give, and why (no evidence is better than a wrong event)."""

    type: EventType
    reason: str

    def to_json(self) -> dict[str, Any]:
        return {"type": str(self.type), "reason": self.reason}


def write_events(path: Path, events: list[StageEvent], **extra: Any) -> None:
    """Write events.json: {"events": [...], **extra} (the format `analyze` and `simulate` share)."""
    doc = {"events": [e.to_json() for e in events], **extra}
    path.write_text(json.dumps(doc, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")


def read_events(path: Path) -> list[StageEvent]:
    """Read the events of an events.json file."""
    doc = json.loads(path.read_text(encoding="utf-8"))
    return [StageEvent.from_json(e) for e in doc["events"]]


class FlagKind(StrEnum):
    """What is wrong with, or worth knowing about, a frame: the closed vocabulary of frame flags. Consumers
    test a flag's kind, never its text (the text is for people and keeps the earlier format)."""

    # the frame could not be used at all (its text reads "frame: <detail>")
    UNREADABLE = "unreadable"  # not an image, truncated, cannot be read or decoded
    EMPTY = "empty"  # an empty file, still empty after the settle time
    TOO_LARGE = "too_large"  # its header declares more pixels than ingest.max_pixels: never decoded
    OUTSIDE_FOLDER = "outside_folder"  # a link leading out of the watched folder: never read
    SIZE_CHANGED = "size_changed"  # another size than the run's first frame (or the configured size)
    STRAY = "stray"  # far ahead of the run, and later frames came with earlier times: another run's frame
    # an overlay field ("<field>: <detail>")
    FIELD_REJECTED = "field_rejected"  # not accepted: the value is left out
    FIELD_WARNING = "field_warning"  # accepted, but worth a look
    OUT_OF_RANGE = "out_of_range"  # a table's temperature outside the plausible range: left out
    # the camera (the kind is the text)
    EXPOSURE_STEP = "exposure_step"
    GLINT = "glint"


FRAME_UNUSABLE = frozenset((FlagKind.UNREADABLE, FlagKind.EMPTY, FlagKind.TOO_LARGE, FlagKind.OUTSIDE_FOLDER,
                            FlagKind.SIZE_CHANGED, FlagKind.STRAY))  # fmt: skip


@dataclass(frozen=True, slots=True)
class Flag:
    """One flag of a frame: its kind, the field it is about ("frame", "t1", "1# Temperature"; "" for the
    camera's) and a detail for people. str() is the text features.csv, the store and MQTT carry."""

    kind: FlagKind
    field: str = ""
    detail: str = ""

    @classmethod
    def frame(cls, kind: FlagKind, detail: str) -> "Flag":  # a flag of the whole frame
        return cls(kind, "frame", detail)

    @property
    def frame_unusable(self) -> bool:
        return self.kind in FRAME_UNUSABLE

    def __str__(self) -> str:
        return f"{self.field}: {self.detail}" if self.field else str(self.kind)


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
    def flags(self) -> list[Flag]:
        """One flag per field that was not accepted or is worth a look."""
        return [
            Flag(FlagKind.FIELD_REJECTED, name, f.error) if f.error
            else Flag(FlagKind.FIELD_WARNING, name, f.warning or "")
            for name, f in self.fields().items() if f.error or f.warning
        ]  # fmt: skip


@dataclass(frozen=True, slots=True)
class Features:
    """Image features of one frame (whole-frame statistics on a downscaled copy, texture on the sample)."""

    mean: float  # whole-frame mean of all channels, the reference paper's E(A)
    mean_b: float
    mean_g: float
    mean_r: float
    probes: tuple[tuple[float, float, float], ...]  # BGR of each configured probe point
    change: float  # mean absolute difference from the previous frame (nan for the first)
    texture: float  # mean local contrast (local std / local mean) in the sample region
    textured_share: float  # share of sample-region pixels whose local contrast exceeds the texture level
    # The camera's part (see analytics/camera.py): the run's gain so far, and the mean without it.
    gain: float = 1.0
    level: float = math.nan  # mean / gain: the scene's own brightness; nan = not measured
    exposure_step: bool = False  # the camera's gain changed into this frame
    # Sample box mean over the mean of the rest of the frame, per channel (B, G, R): a gain- and flicker-free
    # look at the sample.
    sample_contrast: tuple[float, float, float] = (math.nan, math.nan, math.nan)
    # Mean squared local contrast (local variance / local mean squared) in the sample region: an area
    # average, so it grows in step with the crystalline area to the end of growth; nan = not measured.
    area_texture: float = math.nan

    @property
    def probe_sum(self) -> float:
        """Sum of the first probe point's channels (the reference paper's R+G+B at its pixel)."""
        return float(sum(self.probes[0])) if self.probes else float("nan")


@dataclass(frozen=True, slots=True)
class ThermocoupleHealth:
    """How far one thermocouple can be trusted, with the reasons."""

    name: str  # "1#" or "2#"
    score: float  # 0 (useless) .. 1 (fully trustworthy)
    reliable: bool
    reasons: tuple[str, ...]
    correlation: float | None  # Pearson r with the image mean over the window
    jump_rate: float  # share of steps larger than the jump threshold
    stuck_share: float  # share of the window where the value did not move while the image did


@dataclass(frozen=True, slots=True)
class AvramiFit:
    """JMAK/Avrami fit of the crystalline fraction: X = 1 - exp(-k t^n), t from crystallization start (s)."""

    n: float
    k: float
    r2: float


class ProgressBasis(StrEnum):
    STAGE = "stage"  # certain from the stage: nothing crystallizes before the melt cools; solid is 100 %
    KINETICS = "kinetics"  # the run's fraction since crystallization_start, fitted (analytics/progress.py)
    IMAGE = "image"  # the image model's reading of this one frame


@dataclass(frozen=True, slots=True)
class ProgressEstimate:
    """Crystallization progress (the reference paper's i/N, 0..100 %) as known at a frame, and from what."""

    pct: float
    basis: ProgressBasis


@dataclass(frozen=True, slots=True)
class Frame:
    """A decoded frame: where it came from, its position in the run and its pixels (BGR)."""

    path: Path
    index: int  # 0-based position in the run
    image: np.ndarray

    @property
    def name(self) -> str:
        return self.path.name


@dataclass(frozen=True, slots=True)
class FrameResult:
    """Everything the pipeline made of one frame."""

    index: int  # 0-based position in the run
    file: str
    time_s: float  # the time read from the overlay, else the file name's second, else the index
    reading: OverlayReading | None  # None when the frame could not be decoded
    frame_error: str | None  # why the frame could not be used (its flag's detail)
    features: Features | None
    stage: Stage  # as far as confirmed when this frame was processed
    events: tuple[StageEvent, ...]  # events confirmed at this frame (they may date a few frames back)
    crystal_fraction: float | None  # online image measure of the crystallized area, 0..1
    latency_ms: float
    progress: ProgressEstimate | None = None  # None: neither the run's history nor a model can tell yet
    step_ms: tuple[tuple[str, float], ...] = ()  # (pipeline step, milliseconds) of this frame's processing
    prediction: Prediction | None = None  # the learned models' outputs, when they run
    thermocouples: tuple[ThermocoupleHealth, ...] = ()  # 1# and 2# over the last frames (online health)
    frame_error_kind: FlagKind = FlagKind.UNREADABLE  # what kind of problem frame_error is

    @property
    def flags(self) -> list[Flag]:
        """What is wrong with, or worth knowing about, the frame: why it could not be used, else the
        overlay's flags and the camera's exposure step (as known when the frame was processed)."""
        if self.frame_error:
            return [Flag.frame(self.frame_error_kind, self.frame_error)]
        flags = list(self.reading.flags) if self.reading else []
        if self.features is not None and self.features.exposure_step:
            flags.append(Flag(FlagKind.EXPOSURE_STEP))
        return flags

    @property
    def flagged(self) -> bool:
        """Something is wrong with the frame or a field (the camera's exposure step is news, not a fault)."""
        return any(f.kind is not FlagKind.EXPOSURE_STEP for f in self.flags)

    @property
    def t1_c(self) -> float | None:
        return None if self.reading is None or self.reading.t1.value is None else float(self.reading.t1.value)

    @property
    def t2_c(self) -> float | None:
        return None if self.reading is None or self.reading.t2.value is None else float(self.reading.t2.value)
