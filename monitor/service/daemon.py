"""The daemon: the watcher hands over complete frames, one worker runs each through its run's session in
order, its items for every sink go to the outbox, the checkpoint moves on, and each sink's writer delivers
from the outbox. Runs interleave freely (a session per run, retired when idle, resumed exactly from the
checkpoint). One stop event; stop() drains the queue and flushes the sinks."""

import logging
import queue
import threading
import time
from pathlib import Path

from monitor.config import MonitorConfig
from monitor.ingest.checkpoint import Checkpoint
from monitor.ingest.identity import FrameArrival, RunKeys
from monitor.ingest.watcher import FrameWatcher
from monitor.pipeline.session import ProcessorFactory, RunSession
from monitor.records import FlagKind, FrameResult
from monitor.service.http import Health
from monitor.service.live import LiveBoard
from monitor.service.metrics import Metrics
from monitor.service.run_reports import RunReports
from monitor.sinks.delivery import Delivery

log = logging.getLogger(__name__)


class Daemon:
    def __init__(
        self, config: MonitorConfig, *, processors: ProcessorFactory, delivery: Delivery,
        checkpoint: Checkpoint, metrics: Metrics, reports: Path | None = None,
    ) -> None:  # fmt: skip
        self.config = config
        self.processors = processors
        self.delivery = delivery
        self.checkpoint = checkpoint
        self.metrics = metrics
        self.stop_event = threading.Event()
        self._queue: queue.Queue[FrameArrival] = queue.Queue(maxsize=config.ingest.queue_size)
        self.sessions: dict[str, RunSession] = {}  # by run id
        self._worker = threading.Thread(target=self._work, name="pipeline", daemon=True)
        self.watcher = FrameWatcher(
            config=config.ingest, checkpoint=checkpoint, on_frame=self.enqueue, keys=RunKeys()
        )
        self._stalled = False
        self._failures_in_row = 0  # frames unusable or failing in processing since the last good one
        self._checkpoint_error: str | None = None  # why the last mark could not be written, until one is
        self._tick_error: str | None = None
        self.live = LiveBoard(alerts=config.alerts.events, overlay_box=config.overlay.box)  # the live page
        self.reports = None if reports is None else RunReports(reports)  # each run's report when it ends

    # --- lifecycle -----------------------------------------------------------------------------------

    def start(self) -> None:
        self.delivery.start()
        self._worker.start()
        self.watcher.start()
        log.info("watching %s", self.config.ingest.watch_dir)

    def stop(self) -> None:
        """Stop taking frames, finish the ones queued, flush and close the sinks."""
        self.watcher.stop()
        self.stop_event.set()
        self._worker.join()
        # The runs still open get their report now: one that ended less than session_idle_s ago would
        # otherwise have none until a frame of it came again. A run that does resume writes it anew.
        for session in list(self.sessions.values()):
            if self.reports is not None:
                self.reports.write(session)
        self.delivery.stop()
        self.checkpoint.close()
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
                try:
                    self.tick()
                except Exception as exc:  # the pipeline thread must outlive its idle round (issue 15)
                    if repr(exc) != self._tick_error:  # once per distinct error, not every 0.2 s
                        log.exception("idle round failed; carrying on")
                    self._tick_error = repr(exc)
                continue
            self.metrics.queue_depth.set(self._queue.qsize())
            try:
                self.process(arrival)
            except Exception as exc:  # the daemon never dies of one frame
                if self._failures_in_row == 0:  # the traceback once, then a line a frame until one succeeds
                    log.exception("%s: processing failed", arrival.path)
                else:
                    log.error("%s: processing failed again (%s)", arrival.path, type(exc).__name__)
                self._failures_in_row += 1
                self.metrics.frames_failed.inc()

    def tick(self) -> None:
        """The idle round: the feed's state, the writers, idle runs and the state folders."""
        self.check_feed()
        self.delivery.supervise()
        self.retire_idle(time.monotonic())
        try:
            self.checkpoint.verify()
        except OSError as exc:
            self._checkpoint_failed(exc)

    def process(self, arrival: FrameArrival) -> FrameResult:
        session = self.session_for(arrival)
        context = session.context
        result = session.process(arrival.path, stray=arrival.stray)
        if result.frame_error is not None:
            self.metrics.frames_failed.inc()
            self._failures_in_row += 1
        else:
            self._failures_in_row = 0
            self.metrics.frames_processed.inc()
            self.metrics.step_seconds.labels("pipeline").observe(result.latency_ms / 1000.0)
            for step, ms in result.step_ms:
                self.metrics.step_seconds.labels(step).observe(ms / 1000.0)
            if result.flagged:
                self.metrics.frames_flagged.inc()
        for event in result.events:
            self.metrics.events.labels(str(event.type)).inc()
            log.info("%s: %s at %.0f s (1# %s degC)", context.run, event.type, event.time_s, event.t1_c)
        started = time.perf_counter()
        stored = self.delivery.publish(context, result)
        for writer in self.delivery.writers:
            self.metrics.buffered.labels(writer.name).set(self.delivery.outbox.queued(writer.name))
            self.metrics.write_failures.labels(writer.name).set(writer.failed)
        self.metrics.step_seconds.labels("publish").observe(time.perf_counter() - started)
        # Durable in the outbox: a crash from here on loses nothing. An empty file is not marked: a camera
        # that creates first and writes later fills it, and then it comes again (watcher) as a frame.
        if stored and result.frame_error_kind is not FlagKind.EMPTY:
            self._mark(arrival)
        self.live.record(context, result, session.processor.sample_location)
        return result

    def _mark(self, arrival: FrameArrival) -> None:
        try:
            self.checkpoint.mark(arrival.key.id, arrival.path.name)
        except OSError as exc:
            self._checkpoint_failed(exc)
            return
        if self._checkpoint_error is not None:
            log.info("checkpoint %s: writable again", self.checkpoint.dir)
            self._checkpoint_error = None

    def _checkpoint_failed(self, exc: OSError) -> None:
        """One log line when the checkpoint stops taking marks (not one a frame); health says it until a
        mark goes through. The frames are published all the same; unmarked, they come again on restart."""
        reason = exc.strerror or type(exc).__name__
        if self._checkpoint_error is None:
            log.error(
                "checkpoint %s cannot be written (%s): frames are still published, and come again after a "
                "restart", self.checkpoint.dir, reason,
            )  # fmt: skip
        self._checkpoint_error = reason

    def session_for(self, arrival: FrameArrival) -> RunSession:
        """The run's session: the live one, or one rebuilt from the run's checkpoint."""
        session = self.sessions.get(arrival.key.id)
        if session is None:
            session = self.sessions[arrival.key.id] = RunSession.open(
                arrival.key, arrival.path.parent, rig=self.config.rig, processor=self.processors(),
                done=self.checkpoint.processed(arrival.key.id), size=self._frame_size(),
                max_pixels=self.config.ingest.max_pixels,
            )  # fmt: skip
        return session

    def retire_idle(self, now: float) -> None:
        """Forget runs that sent nothing for `session_idle_s`: memory stays bounded over months of runs."""
        limit = self.config.ingest.session_idle_s
        for run_id, session in list(self.sessions.items()):
            if session.idle_for(now) > limit:
                del self.sessions[run_id]
                self.checkpoint.forget(run_id)
                log.info(
                    "run %s idle for %.0f s: retired after %d frames", session.key.name, limit, session.frames
                )
                if self.reports is not None:
                    self.reports.write(session)

    def _frame_size(self) -> tuple[int, int] | None:
        o = self.config.overlay
        return (o.frame_width, o.frame_height) if o.frame_width and o.frame_height else None

    # --- health --------------------------------------------------------------------------------------

    def run_in_progress(self) -> bool:
        """A run has a session and has not reached its end (solid): only then is a quiet feed a stall.
        A run that stops early stays in progress until it is retired as idle (ingest.session_idle_s)."""
        return any(not s.finished for s in list(self.sessions.values()))

    def feed_stalled(self) -> bool:
        return self.watcher.stalled() and self.run_in_progress()

    def check_feed(self) -> None:
        """Tell the listeners (MQTT) when the feed stalls and when it comes back, once per change."""
        stalled = self.feed_stalled()
        if stalled == self._stalled:
            return
        self._stalled = stalled
        limit = self.config.ingest.stall_timeout_s
        detail = (
            f"no frame for more than {limit:g} s" if stalled
            else "no run in progress" if self.watcher.stalled() else "frames arriving"
        )  # fmt: skip
        (log.warning if stalled else log.info)("feed %s", detail)
        self.delivery.publish_feed(stalled=stalled, detail=detail)

    def health(self) -> Health:
        """Ready unless something keeps frames from being processed, stored or delivered; each reason a
        short stable phrase (no secrets, no paths). Idle (no run in progress) is ready."""
        c = self.config.ingest
        reasons = []
        if self.feed_stalled():
            reasons.append(f"feed stalled: no frame for more than {c.stall_timeout_s:g} s")
        if self._failures_in_row >= c.failures_not_ready:
            reasons.append(f"frames failing: {self._failures_in_row} in a row")
        if self._checkpoint_error is not None:
            reasons.append(f"checkpoint not writable: {self._checkpoint_error}")
        if self._worker.ident and not self._worker.is_alive() and not self.stop_event.is_set():
            reasons.append("pipeline thread down")
        if self.watcher.started and not self.watcher.running and not self.stop_event.is_set():
            reasons.append("frame watcher down")
        reasons += [f"{name}: {h.detail}" for name, h in self.delivery.health() if not h.ok]
        alive = self._worker.is_alive() or not self._worker.ident
        return Health(alive=alive, ready=not reasons, reasons=tuple(reasons))
