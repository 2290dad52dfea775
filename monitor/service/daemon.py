"""The daemon: the watcher hands over complete frames, one worker runs each through its run's session in
order, its items for every sink go to the outbox, the checkpoint moves on, and each sink's writer delivers
from the outbox. Runs interleave freely (a session per run, retired when idle, resumed exactly from the
checkpoint). One stop event; stop() drains the queue and flushes the sinks."""

import logging
import queue
import threading
import time

from monitor.config import MonitorConfig
from monitor.ingest.checkpoint import Checkpoint
from monitor.ingest.identity import FrameArrival, RunKeys
from monitor.ingest.watcher import FrameWatcher
from monitor.pipeline.session import ProcessorFactory, RunSession
from monitor.records import FrameResult
from monitor.service.http import Health
from monitor.service.live import LiveBoard
from monitor.service.metrics import Metrics
from monitor.sinks.delivery import Delivery

log = logging.getLogger(__name__)


class Daemon:
    def __init__(
        self, config: MonitorConfig, *, processors: ProcessorFactory, delivery: Delivery,
        checkpoint: Checkpoint, metrics: Metrics,
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
        self.live = LiveBoard(alerts=config.alerts.events, overlay_box=config.overlay.box)  # the live page

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
                self.check_feed()
                self.delivery.supervise()
                self.retire_idle(time.monotonic())
                continue
            self.metrics.queue_depth.set(self._queue.qsize())
            try:
                self.process(arrival)
            except Exception:  # the daemon never dies of one frame
                log.exception("%s: processing failed", arrival.path)
                self.metrics.frames_failed.inc()

    def process(self, arrival: FrameArrival) -> FrameResult:
        session = self.session_for(arrival)
        context = session.context
        result = session.process(arrival.path)
        if result.frame_error is not None:
            self.metrics.frames_failed.inc()
        else:
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
        stored = self.delivery.publish(context, result)
        for writer in self.delivery.writers:
            self.metrics.buffered.labels(writer.name).set(self.delivery.outbox.queued(writer.name))
            self.metrics.write_failures.labels(writer.name).set(writer.failed)
        self.metrics.stage_seconds.labels("publish").observe(time.perf_counter() - started)
        if stored:  # durable in the outbox: a crash from here on loses nothing
            self.checkpoint.mark(arrival.key.id, arrival.path.name)
        self.live.record(context, result, session.processor.sample_location)
        return result

    def session_for(self, arrival: FrameArrival) -> RunSession:
        """The run's session: the live one, or one rebuilt from the run's checkpoint."""
        session = self.sessions.get(arrival.key.id)
        if session is None:
            session = self.sessions[arrival.key.id] = RunSession.open(
                arrival.key, arrival.path.parent, rig=self.config.rig, processor=self.processors(),
                done=self.checkpoint.processed(arrival.key.id), size=self._frame_size(),
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
        self.delivery.publish_feed(stalled=stalled, detail=detail)

    def health(self) -> Health:
        reasons = []
        if self.watcher.stalled():
            reasons.append(f"feed stalled: no frame for more than {self.config.ingest.stall_timeout_s:g} s")
        reasons += [f"{name}: {h.detail}" for name, h in self.delivery.health() if not h.ok]
        alive = self._worker.is_alive() or not self._worker.ident
        return Health(alive=alive, ready=not reasons, reasons=tuple(reasons))
