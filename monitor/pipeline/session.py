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
from monitor.ingest.loader import MAX_PIXELS, FrameError, list_frames, load_frame, time_from_name
from monitor.pipeline.batch import FrameRecord
from monitor.pipeline.process import FrameProcessor
from monitor.records import FlagKind, Frame, FrameResult, Stage
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
    size: tuple[int, int] | None = None  # the frame size the config demands, else the run's first frame's
    max_pixels: int = MAX_PIXELS  # a frame declaring more is flagged without being decoded
    frames: int = 0  # frames through the pipeline so far, replayed ones included: the next frame's index
    last_active: float = field(default_factory=time.monotonic)
    # What the run's report needs of each frame it took, in order (no pixels, ~1 KB a frame): filled the
    # same way by live frames and by replay, so a resumed run's report covers the whole run.
    records: list[FrameRecord] = field(default_factory=list)

    @classmethod
    def open(
        cls, key: RunKey, folder: Path, *, rig: str, processor: FrameProcessor,
        done: Sequence[str] = (), size: tuple[int, int] | None = None, max_pixels: int = MAX_PIXELS,
    ) -> "RunSession":  # fmt: skip
        """A session for a run, brought up to date with the frames `done` (checkpointed, in order)."""
        context = RunContext(
            rig=rig, run=key.name, run_id=key.id, started_at=run_started_at(folder), folder=folder
        )
        session = cls(key=key, context=context, processor=processor, size=size, max_pixels=max_pixels)
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
                frame = self._load(self.context.folder / name, index)
            except FrameError as exc:  # it failed the same way when it was live: no state changed then either
                self._keep(self.processor.failed(index, name, str(exc), kind=exc.kind))
                continue
            self._keep(self.processor.replay(frame))

    def process(self, path: Path, *, stray: bool = False) -> FrameResult:
        """One new frame of the run; a frame that cannot be used (or a stray from another run, as the
        watcher found) gives a flagged result and leaves the run's state as it was."""
        index = self._next()
        decode_started = time.perf_counter()
        try:
            if stray:
                raise FrameError(
                    f"{path.name}: a stray from another run (later frames came with earlier times); "
                    "not processed", FlagKind.STRAY,
                )  # fmt: skip
            frame = self._load(path, index)
        except FrameError as exc:
            log.warning("%s", exc)
            return self._keep(self.processor.failed(index, path.name, str(exc), kind=exc.kind))
        decode_ms = (time.perf_counter() - decode_started) * 1000.0
        result = self.processor.process(frame, run=self.key.name)
        return self._keep(replace(result, step_ms=(("decode", decode_ms), *result.step_ms)))

    def _keep(self, result: FrameResult) -> FrameResult:
        """Record a frame for the run's report. An empty file is not: it is not checkpointed either, and
        comes again as a frame once the camera has written it."""
        if result.frame_error_kind is not FlagKind.EMPTY or result.frame_error is None:
            self.records.append(FrameRecord.of(result))
        return result

    def _load(self, path: Path, index: int) -> Frame:
        """Decode a frame of this run: from the run's folder only, of the run's size (the configured one,
        else its first frame's, so a frame of another size is flagged at once)."""
        frame = load_frame(
            path, index, size=self.size, max_pixels=self.max_pixels, within=self.context.folder
        )
        if self.size is None:
            self.size = (frame.image.shape[1], frame.image.shape[0])
        return frame

    @property
    def finished(self) -> bool:
        """The run reached its end (solid): no more frames are expected."""
        return self.processor.detector.stage is Stage.SOLID

    def idle_for(self, now: float) -> float:
        return now - self.last_active

    def _next(self) -> int:
        index, self.frames, self.last_active = self.frames, self.frames + 1, time.monotonic()
        return index
