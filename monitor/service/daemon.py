"""The daemon: the watcher hands over complete frames, one worker runs the pipeline in order, the sinks
publish, the checkpoint moves on. One stop event; stop() drains the queue and flushes the sinks."""

import logging
import queue
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import replace
from pathlib import Path

from monitor.config import MonitorConfig
from monitor.ingest.checkpoint import Checkpoint
from monitor.ingest.loader import FrameError, list_frames, load_frame, time_from_name
from monitor.ingest.watcher import FrameArrival, FrameWatcher
from monitor.pipeline.process import FrameProcessor
from monitor.records import FrameResult
from monitor.service.http import Health
from monitor.service.metrics import Metrics
from monitor.sinks.base import RunContext, Sink

log = logging.getLogger(__name__)


def run_started_at(folder: Path) -> float:
    """Wall-clock epoch of run time 0: the first frame's modification time minus its second. Derived from
    the files, so a restarted daemon (or a replay) gives the same timestamps and the sinks overwrite."""
    frames = list_frames(folder)
    if not frames:
        return time.time()
    first = frames[0]
    return first.stat().st_mtime - float(time_from_name(first.name) or 0)


class Daemon:
    def __init__(
        self, config: MonitorConfig, *, processor: FrameProcessor, sinks: Sequence[Sink],
        checkpoint: Checkpoint, metrics: Metrics,
    ) -> None:  # fmt: skip
        self.config = config
        self.processor = processor
        self.sinks = list(sinks)
        self.checkpoint = checkpoint
        self.metrics = metrics
        self.stop_event = threading.Event()
        self._queue: queue.Queue[FrameArrival] = queue.Queue(maxsize=config.ingest.queue_size)
        self._context: RunContext | None = None
        self._positions: dict[Path, int] = {}
        self._worker = threading.Thread(target=self._work, name="pipeline", daemon=True)
        self.watcher = FrameWatcher(config=config.ingest, checkpoint=checkpoint, on_frame=self.enqueue)
        self.results: queue.Queue[FrameResult] | None = None  # set by callers that want to follow along
        self.feed_listeners: list[Callable[..., None]] = []  # called as listener(stalled=..., detail=...)
        self._stalled = False

    # --- lifecycle -----------------------------------------------------------------------------------

    def start(self) -> None:
        for sink in self.sinks:
            sink.start()
        self._worker.start()
        self.watcher.start()
        log.info("watching %s", self.config.ingest.watch_dir)

    def stop(self) -> None:
        """Stop taking frames, finish the ones queued, flush and close the sinks."""
        self.watcher.stop()
        self.stop_event.set()
        self._worker.join()
        for sink in self.sinks:
            sink.stop()
        log.info("stopped")

    # --- ingest -> pipeline --------------------------------------------------------------------------

    def enqueue(self, arrival: FrameArrival) -> None:
        """Called by the watcher; blocks while the queue is full (back-pressure), never drops a frame."""
        while True:
            try:
                self._queue.put(arrival, timeout=0.5)
                self.metrics.queue_depth.set(self._queue.qsize())
                return
            except queue.Full:
                if self.stop_event.is_set():
                    log.warning(
                        "stopping with a full queue: %s is left for the next start", arrival.path.name
                    )
                    return

    def _work(self) -> None:
        while not (self.stop_event.is_set() and self._queue.empty()):
            try:
                arrival = self._queue.get(timeout=0.2)
            except queue.Empty:
                self.check_feed()
                continue
            self.metrics.queue_depth.set(self._queue.qsize())
            try:
                self.process(arrival)
            except Exception:  # the daemon never dies of one frame
                log.exception("%s: processing failed", arrival.path)
                self.metrics.frames_failed.inc()

    def process(self, arrival: FrameArrival) -> FrameResult:
        context = self._context_for(arrival)
        index = self._position(arrival.path)
        size = self._frame_size()
        decode_started = time.perf_counter()
        try:
            frame = load_frame(arrival.path, index, size=size)
        except FrameError as exc:
            log.warning("%s", exc)
            result = self.processor.failed(index, arrival.path.name, str(exc))
            self.metrics.frames_failed.inc()
        else:
            decode_ms = (time.perf_counter() - decode_started) * 1000.0
            result = self.processor.process(frame, run=context.run)
            result = replace(result, stage_ms=(("decode", decode_ms), *result.stage_ms))
            self.metrics.frames_processed.inc()
            self.metrics.stage_seconds.labels("pipeline").observe(result.latency_ms / 1000.0)
            for stage, ms in result.stage_ms:
                self.metrics.stage_seconds.labels(stage).observe(ms / 1000.0)
            if result.reading is not None and result.reading.flags:
                self.metrics.frames_flagged.inc()
        for event in result.events:
            self.metrics.events.labels(str(event.type)).inc()
            log.info("%s: %s at %.0f s (1# %s degC)", context.run, event.type, event.time_s, event.t1_c)
        started = time.perf_counter()
        for sink in self.sinks:
            try:
                sink.publish(context, result)
            except Exception:
                log.exception("%s: publishing %s failed", sink.name, result.file)
                self.metrics.publish_failures.labels(sink.name).inc()
            self.metrics.buffered.labels(sink.name).set(sink.health().queued)
        self.metrics.stage_seconds.labels("publish").observe(time.perf_counter() - started)
        self.checkpoint.mark(arrival.run, arrival.path.name)
        if self.results is not None:
            self.results.put(result)
        return result

    def _position(self, path: Path) -> int:
        """A frame's 0-based position in its run; the folder is listed again only for a file not seen yet."""
        if path not in self._positions:
            self._positions = {p: i for i, p in enumerate(list_frames(path.parent))}
        return self._positions.get(path, len(self._positions))

    def _context_for(self, arrival: FrameArrival) -> RunContext:
        if self._context is None or self._context.run != arrival.run:
            self.processor.new_run()
            folder = arrival.path.parent
            self._context = RunContext(
                rig=self.config.rig, run=arrival.run, started_at=run_started_at(folder), folder=folder
            )
            log.info("run %s started", arrival.run)
        return self._context

    def _frame_size(self) -> tuple[int, int] | None:
        o = self.config.overlay
        return (o.frame_width, o.frame_height) if o.frame_width and o.frame_height else None

    # --- health --------------------------------------------------------------------------------------

    def check_feed(self) -> None:
        """Tell the listeners (MQTT) when the feed stalls and when it comes back, once per change."""
        stalled = self.watcher.stalled()
        if stalled == self._stalled:
            return
        self._stalled = stalled
        limit = self.config.ingest.stall_timeout_s
        detail = f"no frame for more than {limit:g} s" if stalled else "frames arriving"
        (log.warning if stalled else log.info)("feed %s", detail)
        for listener in self.feed_listeners:
            listener(stalled=stalled, detail=detail)

    def health(self) -> Health:
        reasons = []
        if self.watcher.stalled():
            reasons.append(f"feed stalled: no frame for more than {self.config.ingest.stall_timeout_s:g} s")
        for sink in self.sinks:
            h = sink.health()
            if not h.ok:
                reasons.append(f"{sink.name}: {h.detail}")
        alive = self._worker.is_alive() or not self._worker.ident
        return Health(alive=alive, ready=not reasons, reasons=tuple(reasons))
