"""Per-run sessions, with the real pipeline (PaddleOCR models, analytics) on simulated runs: a restart at
any frame, a retired session coming back and a second run streaming at the same time change nothing that a
subscriber sees. Frames go straight to `Daemon.process`, in the order a watcher would hand them over.

The runs are short and small (a whole run in 220 frames of 320x240, with every event and the auto exposure's
steps, whose hindsight revisions a restart must carry over): the real pipeline on them three times over
costs seconds, not the minute of the 562-frame reference run."""

import random
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

import pytest

from monitor.config import parse_config
from monitor.ingest.checkpoint import Checkpoint
from monitor.ingest.identity import FrameArrival, RunKeys
from monitor.ingest.loader import list_frames
from monitor.pipeline.process import processor_factory
from monitor.records import FrameResult, ProgressBasis, ProgressEstimate
from monitor.service.daemon import Daemon
from monitor.service.metrics import Metrics
from monitor.simulate import SimulatedRun, SimulationOptions, simulate
from monitor.simulate.profile import FurnaceProfile
from monitor.sinks.base import RunContext, Sink
from monitor.sinks.delivery import Delivery
from monitor.sinks.outbox import Item, Outbox


@dataclass(frozen=True)
class Seen:
    """What a subscriber sees of one published frame (timings left out: they differ from run to run)."""

    id: str
    stage: str
    fraction: float | None
    t1: int | None
    progress: ProgressEstimate | None  # its state (stage, the fraction's kinetics) is rebuilt by replay
    events: tuple[tuple[str, str, float, str, float], ...]  # event id, type, time, file, confidence


class Recorder(Sink):
    """A sink keeping what it is given, as a subscriber would see it (encode runs in the pipeline thread,
    in order; nothing is left for the writer)."""

    name = "recorder"

    def __init__(self) -> None:
        self.seen: list[Seen] = []

    def encode(self, context: RunContext, result: FrameResult) -> list[Item]:
        t1 = None if result.reading is None else result.reading.t1.value
        events = tuple(
            (context.event_id(str(e.type)), str(e.type), e.time_s, e.file, e.confidence)
            for e in result.events
        )
        frame_id, stage = context.frame_id(result.file), str(result.stage)
        self.seen.append(Seen(frame_id, stage, result.crystal_fraction, t1, result.progress, events))
        return []

    def write(self, payloads: list[str]) -> None:
        raise AssertionError("nothing to write")


@pytest.fixture(scope="module")
def processors(ocr_cache: Path):
    config = parse_config({}, env={})
    return processor_factory(config)


@pytest.fixture(scope="module")
def other_run(tmp_path_factory: pytest.TempPathFactory) -> SimulatedRun:
    """Another seed at another frame size, through melting: its state must not leak into the reference's."""
    options = SimulationOptions(
        seed=5, seconds=80, width=640, height=480, workers=1,
        profile=FurnaceProfile(peak_at_s=160.0, hold_s=10.0, cool_rate_c_per_s=10.0),
    )  # fmt: skip
    return simulate(tmp_path_factory.mktemp("other"), options, progress=False)


def make_daemon(tmp_path: Path, processors, recorder: Recorder, *, idle_s: float = 600) -> Daemon:
    config = parse_config(
        {
            "ingest": {
                "watch_dir": str(tmp_path),
                "checkpoint_dir": str(tmp_path / "ckpt"),
                "session_idle_s": idle_s,
            }
        },
        env={},
    )
    return Daemon(
        config,
        processors=processors,
        delivery=Delivery([recorder], Outbox(tmp_path / "outbox.sqlite")),
        checkpoint=Checkpoint(tmp_path / "ckpt"),
        metrics=Metrics(),
    )


def arrivals(run: SimulatedRun, name: str) -> list[FrameArrival]:
    key = RunKeys().key(name, run.out)
    assert key is not None
    return [FrameArrival(key, path) for path in list_frames(run.out)]


def feed(daemon: Daemon, items: Iterable[FrameArrival]) -> None:
    for arrival in items:
        daemon.process(arrival)


@pytest.fixture(scope="module")
def alone(
    whole_run: SimulatedRun, other_run: SimulatedRun, processors, tmp_path_factory
) -> dict[str, list[Seen]]:
    """Each run through a daemon of its own, uninterrupted."""
    seen = {}
    for name, run in (("ref", whole_run), ("other", other_run)):
        recorder = Recorder()
        feed(make_daemon(tmp_path_factory.mktemp(name), processors, recorder), arrivals(run, name))
        seen[name] = recorder.seen
    return seen


def test_the_uninterrupted_runs_find_their_events(alone: dict[str, list[Seen]]) -> None:
    types = [[event[1] for s in seen for event in s.events] for seen in (alone["ref"], alone["other"])]
    assert types[0][-2:] == ["crystallization_start", "crystallization_end"]
    # the progress a restart must carry over includes the kinetics fitted to the fraction so far
    assert any(s.progress is not None and s.progress.basis is ProgressBasis.KINETICS for s in alone["ref"])
    assert "melting_complete" in types[1]
    assert {s.id.split("/")[1] for s in alone["ref"]}.isdisjoint({s.id.split("/")[1] for s in alone["other"]})


def test_a_restart_at_random_frames_changes_nothing_a_subscriber_sees(
    whole_run: SimulatedRun, processors, alone: dict[str, list[Seen]], tmp_path: Path
) -> None:
    items = arrivals(whole_run, "ref")
    cuts = sorted(random.Random(1).sample(range(1, len(items)), 2))
    recorder = Recorder()
    daemon = make_daemon(tmp_path, processors, recorder)
    feed(daemon, items[: cuts[0]])
    # killed: a new process with the same checkpoint folder, the old one dropped without stop()
    daemon = make_daemon(tmp_path, processors, recorder)
    feed(daemon, items[cuts[0] : cuts[1]])
    # killed after publishing a frame but before its checkpoint line reached the disk: it comes again
    log = Checkpoint(tmp_path / "ckpt").path(items[0].key.id)
    lines = log.read_text().splitlines(keepends=True)
    log.write_text("".join(lines[:-1]))
    daemon = make_daemon(tmp_path, processors, recorder)
    feed(daemon, items[cuts[1] - 1 :])
    expected = alone["ref"]
    assert recorder.seen[: cuts[1]] + recorder.seen[cuts[1] + 1 :] == expected
    assert (
        recorder.seen[cuts[1]] == expected[cuts[1] - 1]
    )  # the frame said again, with the same id and content
    assert Checkpoint(tmp_path / "ckpt").processed(items[0].key.id) == [a.path.name for a in items]


def test_two_runs_streaming_at_once_are_two_independent_runs(
    whole_run: SimulatedRun, other_run: SimulatedRun, processors, alone, tmp_path: Path
) -> None:
    ref, other = arrivals(whole_run, "ref"), arrivals(other_run, "other")
    recorder = Recorder()
    daemon = make_daemon(tmp_path, processors, recorder, idle_s=30)
    feed(daemon, ref[:20])  # an old run being copied in while a new one records
    retired = False
    for i in range(len(other)):
        feed(daemon, [other[i], *ref[20 + i : 21 + i]])
        if i == 40:  # a while without frames: both sessions retire, then resume from their checkpoints
            daemon.retire_idle(now=daemon.sessions[ref[0].key.id].last_active + 31)
            assert not daemon.sessions
            retired = True
    feed(daemon, ref[20 + len(other) :])
    assert retired and 20 + len(other) < len(ref)  # both runs were mid-way when they retired
    by_run = {name: [s for s in recorder.seen if s.id.split("/")[1].startswith(f"{name}@")] for name in alone}
    assert by_run == alone
