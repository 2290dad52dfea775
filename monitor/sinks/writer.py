"""One writer per sink: takes the sink's items from the outbox in order and writes them in batches.

It owns what every output needs and none should write again: batching, backoff (tenacity, with jitter, its
sleep cut short by a stop), the halving of a batch too large, the dead-letter table for what a server
refused for good, counters, health and metrics. A bug (any exception that is not Retry, TooLarge or
Reject) is logged with its traceback, marks the sink unhealthy and is retried slowly, without losing the
items. A writer thread that dies anyway is seen by `ensure_running` and started again.
"""

import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass

from tenacity import (
    RetryCallState,
    Retrying,
    retry_if_exception_type,
    stop_when_event_set,
    wait_exponential_jitter,
)

from monitor.sinks.base import Reject, Retry, Sink, SinkHealth, TooLarge
from monitor.sinks.outbox import Outbox, Queued

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class WriterStats:
    written: int  # items the destination accepted, this process
    failed: int  # write attempts that failed, this process
    rejected: int  # items in the dead-letter table, since the outbox was made
    dropped: int  # frames dropped because the outbox was full, since it was made
    queued: int  # waiting in the outbox
    restarts: int  # times the writer thread had died and was started again


def backoff(
    errors: type[BaseException] | tuple[type[BaseException], ...], halt: threading.Event, initial_s: float,
    max_s: float, on_failure: Callable[[RetryCallState], None],
) -> Retrying:  # fmt: skip
    """Retry on `errors` for ever, exponentially with jitter up to `max_s`; `halt` ends it (and its sleep)."""
    return Retrying(
        retry=retry_if_exception_type(errors),
        wait=wait_exponential_jitter(multiplier=initial_s, max=max_s, jitter=initial_s),
        stop=stop_when_event_set(halt),
        sleep=halt.wait,  # type: ignore[arg-type]  # returns a bool tenacity ignores
        before_sleep=on_failure,
        reraise=True,
    )


class SinkWriter:
    def __init__(
        self, sink: Sink, outbox: Outbox, *, retry_initial_s: float = 1.0, retry_max_s: float = 30.0
    ) -> None:
        self.sink = sink
        self.outbox = outbox
        self.retry_initial_s = retry_initial_s
        self.retry_max_s = retry_max_s
        self.written = self.failed = self.restarts = 0
        self._limit = sink.batch_size
        self._error: str | None = None  # the destination's last failure, until a write goes through
        self._down_since: float | None = None
        self._bug: str | None = None
        self._refused: str | None = None  # the last refusal, until a write goes through
        self._answers: set[str] = set()  # refusals already logged: each is logged once
        self._wake = threading.Event()
        self._stopping = threading.Event()  # deliver what is queued, then end
        self._halt = threading.Event()  # end now: cuts retries and their sleeps short
        self._thread: threading.Thread | None = None

    @property
    def name(self) -> str:
        return self.sink.name

    def start(self) -> None:
        self._thread = threading.Thread(target=self._run, name=f"{self.name}-writer", daemon=True)
        self._thread.start()

    def wake(self) -> None:
        self._wake.set()

    def alive(self) -> bool:
        return self._thread is not None and self._thread.is_alive()

    def ensure_running(self) -> bool:
        """Start the thread again if it died; False if it had (the daemon is not ready meanwhile)."""
        if self._thread is None or self.alive() or self._stopping.is_set():
            return True
        self.restarts += 1
        log.error("%s: the writer thread had died; started again (%d restarts)", self.name, self.restarts)
        self.start()
        return False

    def stop(self, timeout_s: float = 10.0) -> None:
        """Deliver what is queued for at most timeout_s; the rest stays in the outbox for the next start. A
        destination that is down is not waited for: its items are on disk already, and a stop (systemctl,
        a restart) should not hang on a broker or database that may be away for hours."""
        self._stopping.set()
        self._wake.set()
        if self._thread is not None:
            self._thread.join(0.0 if self._down_since is not None else timeout_s)
            self._halt.set()
            self._thread.join(5.0)
            if self._thread.is_alive():
                log.error("%s: the writer did not stop", self.name)
        left = self.outbox.queued(self.name)
        if left:
            log.warning("%s: %d items stay in the outbox %s", self.name, left, self.outbox.path)

    def health(self) -> SinkHealth:
        queued = self.outbox.queued(self.name)
        backlog = f", {queued} waiting" if queued else ""
        if self._thread is not None and not self.alive() and not self._stopping.is_set():
            return SinkHealth(False, f"writer thread died{backlog}", queued)
        if self._bug is not None:
            return SinkHealth(False, f"failing on a bug: {self._bug}{backlog}", queued)
        if self._refused is not None:
            dead = self.outbox.counter(self.name, "dead")
            return SinkHealth(
                False, f"refused: {self._refused}; {dead} items in dead letters{backlog}", queued
            )
        if self._error is not None:
            since = time.strftime("%H:%M:%S", time.localtime(self._down_since))
            return SinkHealth(False, f"{self.sink.status() or self._error} (since {since}){backlog}", queued)
        status = self.sink.status()
        return SinkHealth(status is None, f"{status or 'ok'}: {self.written} written{backlog}", queued)

    def stats(self) -> WriterStats:
        o = self.outbox
        return WriterStats(
            written=self.written, failed=self.failed, rejected=o.counter(self.name, "dead"),
            dropped=o.counter(self.name, "dropped"), queued=o.queued(self.name), restarts=self.restarts,
        )  # fmt: skip

    # --- the thread ----------------------------------------------------------------------------------

    def _run(self) -> None:
        while not self._halt.is_set():
            batch = self.outbox.peek(self.name, self._limit)
            if not batch:
                if self._stopping.is_set():
                    return
                self._wake.wait(1.0)
                self._wake.clear()
                continue
            short = len(batch) < self._limit and not self._stopping.is_set()
            if short and self.sink.flush_interval_s and self._wake.wait(self.sink.flush_interval_s):
                self._wake.clear()  # more came while waiting: one request for all
                batch = self.outbox.peek(self.name, self._limit)
            self._deliver(batch)

    def _deliver(self, batch: list[Queued]) -> None:
        retrying = backoff(Retry, self._halt, self.retry_initial_s, self.retry_max_s, self._failed_once)
        try:
            for attempt in retrying:
                with attempt:
                    self.sink.write([q.payload for q in batch])
        except Retry:
            return  # halted while the destination is away: the items wait in the outbox
        except TooLarge as e:
            self.failed += 1
            self._limit = max(1, len(batch) // 2)
            log.error("%s: a batch of %d was too large (%s); sending halves", self.name, len(batch), e)
            return
        except Reject as e:
            self.failed += 1
            if (e.answer or str(e)) not in self._answers:  # the same refusal again is not news
                self._answers.add(e.answer or str(e))
                log.error("%s: %s; answer: %s (kept as dead letters)", self.name, e, e.answer or "none")
            self._refused = f"{e}: {e.answer}" if e.answer else str(e)
            self.outbox.dead_letter(self.name, batch, e.answer or str(e))
            return
        except Exception as e:  # a bug: keep the items, say so loudly, try again slowly
            self.failed += 1
            first = self._bug is None
            self._bug = f"{type(e).__name__}: {e}"
            if first:
                log.exception(
                    "%s: writing failed on a bug; retrying every %.0f s", self.name, self.retry_max_s
                )
            self._halt.wait(self.retry_max_s)
            return
        self.outbox.ack(self.name, [q.id for q in batch])
        self.written += len(batch)
        if self._error is not None or self._bug is not None:
            log.info("%s: writing again, %d still waiting", self.name, self.outbox.queued(self.name))
        self._error = self._bug = self._refused = self._down_since = None
        self._limit = self.sink.batch_size

    def _failed_once(self, state: RetryCallState) -> None:
        self.failed += 1
        error = state.outcome.exception() if state.outcome is not None else None
        first = self._error is None
        self._error = str(error)
        self._down_since = self._down_since or time.time()
        wait = state.next_action.sleep if state.next_action is not None else 0.0
        if first:  # once per outage; the recovery is logged too
            log.warning("%s: cannot write (%s); retrying, next in %.1f s", self.name, error, wait)
