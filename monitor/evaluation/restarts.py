"""A restart anywhere changes nothing a subscriber sees: each run goes through daemons killed at random
frames (their state dropped as SIGKILL drops it, sometimes after a frame was published but before its
checkpoint line was on disk), and what reached the sinks is compared, frame by frame and event by event,
with the same run through one uninterrupted daemon. The daemon's own objects, fed as its watcher feeds them.
"""

import random
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from monitor.config import parse_config
from monitor.ingest.checkpoint import Checkpoint
from monitor.ingest.identity import FrameArrival, RunKeys
from monitor.ingest.loader import list_frames
from monitor.pipeline.session import ProcessorFactory
from monitor.records import FrameResult, ProgressEstimate
from monitor.service.daemon import Daemon
from monitor.service.metrics import Metrics
from monitor.sinks.base import RunContext, Sink
from monitor.sinks.delivery import Delivery
from monitor.sinks.outbox import Item, Outbox

Seen = tuple[str, str, float | None, int | None, ProgressEstimate | None, tuple[tuple[str, float, str], ...]]


class _Subscriber(Sink):
    """What a subscriber sees of each frame: its id, stage, fraction, 1#, progress, and its events."""

    name = "subscriber"

    def __init__(self) -> None:
        self.seen: list[Seen] = []

    def encode(self, context: RunContext, result: FrameResult) -> list[Item]:
        events = tuple((context.event_id(str(e.type)), e.time_s, e.file) for e in result.events)
        t1 = None if result.reading is None else result.reading.t1.value
        frame_id, stage = context.frame_id(result.file), str(result.stage)
        self.seen.append((frame_id, stage, result.crystal_fraction, t1, result.progress, events))
        return []

    def write(self, payloads: list[str]) -> None:
        raise AssertionError("nothing is queued for the writer")


@dataclass(frozen=True, slots=True)
class RestartTrial:
    run: str
    kills: tuple[int, ...]  # frames processed before each kill
    torn: tuple[bool, ...]  # whether that kill lost the last checkpoint line
    events: int  # events of the uninterrupted run
    same_events: bool
    same_frames: bool  # every frame's document, duplicates aside
    duplicates: int  # frames said twice, each time with the same id and content

    @property
    def passed(self) -> bool:
        return self.same_events and self.same_frames


def _daemon(work: Path, processors: ProcessorFactory, subscriber: _Subscriber) -> Daemon:
    config = parse_config({"ingest": {"watch_dir": str(work), "checkpoint_dir": str(work / "ckpt")}}, env={})
    delivery = Delivery([subscriber], Outbox(work / "outbox.sqlite"))
    return Daemon(config, processors=processors, delivery=delivery, checkpoint=Checkpoint(work / "ckpt"),
                  metrics=Metrics())  # fmt: skip


def trial(
    run: Path, processors: ProcessorFactory, work: Path, *, kills: int, rng: random.Random
) -> RestartTrial:
    key = RunKeys().key(run.name, run)
    if key is None:
        raise ValueError(f"{run}: no whole frame")
    arrivals = [FrameArrival(key, p) for p in list_frames(run)]
    alone = _Subscriber()
    daemon = _daemon(work / "alone", processors, alone)
    for arrival in arrivals:
        daemon.process(arrival)
    cuts = sorted(rng.sample(range(1, len(arrivals)), kills))
    torn = tuple(rng.random() < 0.5 for _ in cuts)
    seen = _Subscriber()
    start = 0
    for cut, lost in (*zip(cuts, torn, strict=True), (len(arrivals), False)):
        daemon = _daemon(work / "killed", processors, seen)  # a new process: nothing kept but the disk
        for arrival in arrivals[start:cut]:
            daemon.process(arrival)
        start = cut
        if lost:  # killed after publishing the last frame, before its checkpoint line reached the disk
            log = Checkpoint(work / "killed" / "ckpt").path(key.id)
            lines = log.read_text(encoding="utf-8").splitlines(keepends=True)
            log.write_text("".join(lines[:-1]), encoding="utf-8")
            start = cut - 1
    first: dict[str, Seen] = {}
    duplicates, consistent = 0, True
    for doc in seen.seen:
        if doc[0] in first:
            duplicates += 1
            consistent &= first[doc[0]] == doc
        else:
            first[doc[0]] = doc
    events = [e for doc in alone.seen for e in doc[5]]
    return RestartTrial(
        run=str(run), kills=tuple(cuts), torn=torn, events=len(events),
        same_events=[e for doc in first.values() for e in doc[5]] == events,
        same_frames=consistent and list(first.values()) == alone.seen, duplicates=duplicates,
    )  # fmt: skip


def restart_trials(
    runs: Sequence[Path], processors: ProcessorFactory, work: Path, *, kills: int = 2, seed: int = 0
) -> list[RestartTrial]:
    rng = random.Random(seed)
    return [trial(run, processors, work / f"{i:03d}", kills=kills, rng=rng) for i, run in enumerate(runs)]


def format_trials(trials: Sequence[RestartTrial]) -> str:
    lines = [f"{'run':<48} {'killed after frames':<22} {'torn':<12} events  same  duplicates"]
    for t in trials:
        kills = ", ".join(map(str, t.kills))
        torn = ", ".join("yes" if x else "no" for x in t.torn)
        same = "yes" if t.passed else "NO"
        lines.append(f"{t.run[-48:]:<48} {kills:<22} {torn:<12} {t.events:>6}  {same:<4}  {t.duplicates:>10}")
    lines.append(
        f"{sum(t.passed for t in trials)}/{len(trials)} runs: events, alerts and frames as uninterrupted"
    )
    return "\n".join(lines)
