"""Every result to every sink: encoded in the pipeline thread, made durable in the outbox in one transaction,
then written by each sink's writer. When `publish` returns, the frame may be checkpointed: whatever happens
to the network or the process afterwards, its items are on disk and will be delivered."""

import logging
import sqlite3
import threading
from collections.abc import Sequence

from tenacity import RetryCallState

from monitor.records import FrameResult
from monitor.sinks.base import RunContext, Sink, SinkHealth
from monitor.sinks.outbox import Item, Outbox
from monitor.sinks.writer import SinkWriter, backoff

log = logging.getLogger(__name__)


class Delivery:
    def __init__(
        self,
        sinks: Sequence[Sink],
        outbox: Outbox,
        *,
        retry_initial_s: float = 1.0,
        retry_max_s: float = 30.0,
    ) -> None:
        self.sinks = list(sinks)
        self.outbox = outbox
        self.writers = [
            SinkWriter(s, outbox, retry_initial_s=retry_initial_s, retry_max_s=retry_max_s)
            for s in self.sinks
        ]
        self.encode_failures: dict[str, int] = {s.name: 0 for s in self.sinks}
        self._halt = threading.Event()
        self._outbox_error: str | None = None

    def start(self) -> None:
        for sink in self.sinks:
            sink.open()
        for writer in self.writers:
            writer.start()

    def stop(self, timeout_s: float = 10.0) -> None:
        """Deliver what is waiting for at most timeout_s a sink, then disconnect; the rest stays on disk."""
        self._halt.set()
        for writer in self.writers:
            writer.stop(timeout_s)
        for sink in self.sinks:
            sink.close()
        self.outbox.close()

    def publish(self, context: RunContext, result: FrameResult) -> bool:
        """Encode for every sink and store durably; False only if stopped before the outbox took it."""
        items: dict[str, list[Item]] = {}
        for sink in self.sinks:
            try:
                items[sink.name] = sink.encode(context, result)
            except Exception:  # a bug in one sink's encoder costs that sink this frame, not the others
                self.encode_failures[sink.name] += 1
                log.exception("%s: encoding %s failed", sink.name, result.file)
        return self._put(items)

    def publish_feed(self, *, stalled: bool, detail: str) -> None:
        self._put({s.name: s.encode_feed(stalled=stalled, detail=detail) for s in self.sinks})

    def _put(self, items: dict[str, list[Item]]) -> bool:
        # A disk that cannot take the items holds the pipeline here (back-pressure up to the watcher)
        # rather than let a frame be checkpointed that is on disk nowhere.
        retrying = backoff((sqlite3.Error, OSError), self._halt, 0.5, 30.0, self._cannot_store)
        try:
            for attempt in retrying:
                with attempt:
                    self.outbox.put(items)
        except (sqlite3.Error, OSError):
            log.error("outbox %s: stopped before it could store a frame; it comes again", self.outbox.path)
            return False
        if self._outbox_error is not None:
            log.info("outbox %s: storing again", self.outbox.path)
            self._outbox_error = None
        for writer in self.writers:
            if items.get(writer.name):
                writer.wake()
        return True

    def _cannot_store(self, state: RetryCallState) -> None:
        outcome = getattr(state, "outcome", None)
        error = str(outcome.exception()) if outcome is not None else "unknown error"
        if self._outbox_error is None:
            log.error("outbox %s: cannot store (%s); the pipeline waits and retries", self.outbox.path, error)
        self._outbox_error = error

    def supervise(self) -> None:
        """Start any writer thread that died (each says so in the log)."""
        for writer in self.writers:
            writer.ensure_running()

    def health(self) -> list[tuple[str, SinkHealth]]:
        checks = [(w.name, w.health()) for w in self.writers]
        if self._outbox_error is not None:
            checks.append(("outbox", SinkHealth(False, f"cannot store: {self._outbox_error}")))
        return checks
