"""One run inside the daemon: its own pipeline state, its position, its context for the sinks.

Runs interleave freely: each gets a session on its first frame, and frames of other runs never touch it.
A session that comes back (after a restart, or after it was retired for idling) is rebuilt by replaying the
run's checkpointed frames through a fresh processor, without publishing: the pipeline is deterministic, so
the detector, crystal fraction, sample locator and overlay trend end up exactly where they were, and the
next frame gives the events an uninterrupted daemon gives. Replay costs the OCR and analytics of the frames
so far (~25 ms a frame, no models), paid once per resume.
"""

import logging
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path

from monitor.ingest.identity import RunKey
from monitor.ingest.loader import FrameError, list_frames, load_frame, time_from_name
from monitor.pipeline.process import FrameProcessor
from monitor.records import FrameResult
from monitor.sinks.base import RunContext

log = logging.getLogger(__name__)

ProcessorFactory = Callable[[], FrameProcessor]


def run_started_at(folder: Path) -> float:
    """Wall-clock epoch of run time 0: the first frame's modification time minus its second. Derived from
    the files, so a restarted daemon (or a replay) gives the same timestamps and the sinks overwrite."""
    frames = list_frames(folder)
    if not frames:
        return time.time()
    first = frames[0]
    return first.stat().st_mtime - float(time_from_name(first.name) or 0)


@dataclass
class RunSession:
    key: RunKey
    context: RunContext
    processor: FrameProcessor
    size: tuple[int, int] | None = None  # the frame size the config demands, if any
    frames: int = 0  # frames through the pipeline so far, replayed ones included: the next frame's index
    last_active: float = field(default_factory=time.monotonic)

    @classmethod
    def open(
        cls, key: RunKey, folder: Path, *, rig: str, processor: FrameProcessor,
        done: Sequence[str] = (), size: tuple[int, int] | None = None,
    ) -> "RunSession":  # fmt: skip
        """A session for a run, brought up to date with the frames `done` (checkpointed, in order)."""
        context = RunContext(
            rig=rig, run=key.name, run_id=key.id, started_at=run_started_at(folder), folder=folder
        )
        session = cls(key=key, context=context, processor=processor, size=size)
        if done:
            started = time.perf_counter()
            session.replay(done)
            log.info(
                "run %s resumed: %d processed frames replayed in %.1f s",
                key.name, len(done), time.perf_counter() - started,
            )  # fmt: skip
        else:
            log.info("run %s started (%s)", key.name, key.id)
        return session

    def replay(self, names: Sequence[str]) -> None:
        """Take the pipeline's state through frames already published; nothing comes out."""
        assert self.context.folder is not None
        for name in names:
            index = self._next()
            try:
                frame = load_frame(self.context.folder / name, index, size=self.size)
            except FrameError:
                continue  # it failed the same way when it was live: no state changed then either
            self.processor.replay(frame)

    def process(self, path: Path) -> FrameResult:
        """One new frame of the run; a frame that cannot be decoded gives a flagged result."""
        index = self._next()
        decode_started = time.perf_counter()
        try:
            frame = load_frame(path, index, size=self.size)
        except FrameError as exc:
            log.warning("%s", exc)
            return self.processor.failed(index, path.name, str(exc))
        decode_ms = (time.perf_counter() - decode_started) * 1000.0
        result = self.processor.process(frame, run=self.key.name)
        return replace(result, step_ms=(("decode", decode_ms), *result.step_ms))

    def idle_for(self, now: float) -> float:
        return now - self.last_active

    def _next(self) -> int:
        index, self.frames, self.last_active = self.frames, self.frames + 1, time.monotonic()
        return index
