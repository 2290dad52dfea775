"""The live board: what the daemon's live page shows, kept in memory and bounded. The pipeline worker records
each result here after it is delivered; the HTTP threads read consistent snapshots of it under one lock."""

import threading
from collections import OrderedDict, deque
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from monitor.analytics.locate import SampleLocation
from monitor.config.overlay import Box
from monitor.records import EventType, FrameResult, StageEvent
from monitor.sinks.base import RunContext
from monitor.sinks.payload import frame_document

MAX_POINTS = 4000  # per run: a 1 fps run of over an hour, ~200 KB of JSON at most
MAX_EVENTS = 20  # per run; a run has five kinds
MAX_RUNS = 4  # runs interleaving at once that keep their curves


@dataclass(frozen=True, slots=True)
class CurvePoint:
    seq: int  # the board's version when recorded: a page asks for the points after the last it has
    time_s: float
    t1_c: float | None
    t2_c: float | None
    t1_image_c: float | None
    crystal_fraction: float | None
    progress_pct: float | None

    def to_json(self) -> list[Any]:
        return [self.seq, self.time_s, self.t1_c, self.t2_c, self.t1_image_c, self.crystal_fraction,
                self.progress_pct]  # fmt: skip


@dataclass(frozen=True, slots=True)
class LiveFrame:
    """The latest frame of a run as the page shows it."""

    seq: int
    context: RunContext
    result: FrameResult
    sample_box: Box | None


@dataclass
class RunTrace:
    """One run's curves and events, bounded."""

    name: str
    points: deque[CurvePoint] = field(default_factory=lambda: deque(maxlen=MAX_POINTS))
    events: deque[StageEvent] = field(default_factory=lambda: deque(maxlen=MAX_EVENTS))


def _forecast_image(result: FrameResult) -> Path | None:
    p = result.prediction
    return Path(p.forecast.image) if p and p.forecast and p.forecast.image else None


class LiveBoard:
    def __init__(self, *, alerts: Iterable[EventType] = (), overlay_box: Box | None = None) -> None:
        self.alerts = frozenset(alerts)
        self.overlay_box = overlay_box
        self._lock = threading.Lock()
        self._changed = threading.Condition(self._lock)
        self._seq = 0
        self._latest: LiveFrame | None = None
        self._runs: OrderedDict[str, RunTrace] = OrderedDict()  # by run id, least recently active first

    @property
    def version(self) -> int:
        with self._lock:
            return self._seq

    def record(self, context: RunContext, result: FrameResult, location: SampleLocation | None) -> None:
        """A result as it was delivered, with its run's sample box (the worker calls this once per frame)."""
        p = result.prediction
        with self._changed:
            self._seq += 1
            trace = self._runs.get(context.key) or RunTrace(name=context.run)
            self._runs[context.key] = trace
            self._runs.move_to_end(context.key)
            while len(self._runs) > MAX_RUNS:
                self._runs.popitem(last=False)
            trace.points.append(
                CurvePoint(
                    seq=self._seq,
                    time_s=result.time_s,
                    t1_c=result.t1_c,
                    t2_c=result.t2_c,
                    t1_image_c=None if p is None else p.t1_image_c,
                    crystal_fraction=result.crystal_fraction,
                    progress_pct=None if result.progress is None else result.progress.pct,
                )
            )
            trace.events.extend(result.events)
            box = None if location is None else location.box
            self._latest = LiveFrame(seq=self._seq, context=context, result=result, sample_box=box)
            self._changed.notify_all()

    def wait(self, after: int, timeout_s: float) -> int:
        """Block until the board moved past version `after` (or the timeout); the version then."""
        with self._changed:
            self._changed.wait_for(lambda: self._seq > after, timeout=timeout_s)
            return self._seq

    def view(self, since: int = 0, run: str | None = None) -> dict[str, Any]:
        """The page's JSON: the latest frame, its run's points recorded after version `since` (all of them
        when the page follows another run) and the run's events."""
        with self._lock:
            latest = self._latest
            if latest is None:
                return {"version": self._seq, "run": None, "frame": None}
            context, result = latest.context, latest.result
            trace = self._runs[context.key]
            fresh = run == context.key
            points = [pt.to_json() for pt in trace.points if not fresh or pt.seq > since]
            events = list(trace.events)
            version = self._seq
        reading = result.reading
        return {
            "version": version,
            "run": {"id": context.key, "name": context.run, "rig": context.rig},
            "points": points,
            "reset": not fresh,
            "frame": frame_document(context, result),
            "overlay": None
            if reading is None
            else {
                name: {
                    "raw": f.raw,
                    "value": f.value,
                    "confidence": round(f.confidence, 3),
                    "error": f.error,
                    "warning": f.warning,
                }
                for name, f in reading.fields().items()
            },
            "boxes": {
                "sample": None if latest.sample_box is None else latest.sample_box.model_dump(),
                "overlay": None if self.overlay_box is None else self.overlay_box.model_dump(),
            },
            "image": None if result.frame_error else f"/live/frame?v={latest.seq}",
            "forecast_image": f"/live/forecast?v={latest.seq}" if _forecast_image(result) else None,
            "events": [
                {
                    "type": str(e.type),
                    "time_s": e.time_s,
                    "t1_c": e.t1_c,
                    "file": e.file,
                    "confidence": round(e.confidence, 3),
                    "alert": e.type in self.alerts,
                    "snapshot": f"/live/snapshot/{e.type}",
                }
                for e in events
            ],
        }

    def image(self, which: str) -> Path | None:
        """The file behind one of the page's pictures: `frame` (the latest), `forecast` (its forecast frame)
        or `snapshot/<event type>` (the frame an event of the latest run was raised on). Only files the
        board itself recorded are ever named, so a request cannot reach any other path."""
        with self._lock:
            latest = self._latest
            if latest is None or latest.context.folder is None:
                return None
            folder = latest.context.folder
            if which == "frame":
                return None if latest.result.frame_error else folder / latest.result.file
            if which == "forecast":
                return _forecast_image(latest.result)
            kind = which.removeprefix("snapshot/")
            trace = self._runs[latest.context.key]
            return next((folder / e.file for e in trace.events if str(e.type) == kind), None)
