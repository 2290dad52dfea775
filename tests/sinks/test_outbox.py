"""The outbox and the sink writers: order, atomic puts, the drop policy, dead letters, retries, halving,
bugs and dead threads. The destination is an in-memory sink whose answers the test decides."""

import logging
import sqlite3
import threading
from contextlib import closing
from pathlib import Path

import pytest

from monitor.records import FrameResult
from monitor.sinks.base import Reject, Retry, RunContext, Sink, TooLarge
from monitor.sinks.delivery import Delivery
from monitor.sinks.outbox import Item, Outbox
from monitor.sinks.writer import SinkWriter
from tests.services import wait_until


class Destination(Sink):
    """Writes into a list; `answers` (consumed one per write) say what to raise instead."""

    name = "dest"
    batch_size = 4

    def __init__(self) -> None:
        self.received: list[str] = []
        self.batches: list[int] = []
        self.answers: list[BaseException] = []
        self.lock = threading.Lock()

    def encode(self, context: RunContext, result: FrameResult) -> list[Item]:
        return [Item(result.file, droppable=True)]

    def write(self, payloads: list[str]) -> None:
        with self.lock:
            if self.answers:
                raise self.answers.pop(0)
            self.batches.append(len(payloads))
            self.received.extend(payloads)


def items(*names: str, droppable: bool = True) -> list[Item]:
    return [Item(n, droppable=droppable) for n in names]


def test_items_come_out_in_order_per_sink_and_survive_a_reopen(tmp_path: Path) -> None:
    outbox = Outbox(tmp_path / "o.sqlite")
    outbox.put({"a": items("a1", "a2"), "b": items("b1")})
    outbox.put({"a": items("a3")})
    first = outbox.peek("a", 2)
    assert [q.payload for q in first] == ["a1", "a2"] and [q.payload for q in outbox.peek("b", 9)] == ["b1"]
    outbox.ack("a", [q.id for q in first])
    outbox.close()
    again = Outbox(tmp_path / "o.sqlite")
    assert (
        [q.payload for q in again.peek("a", 9)] == ["a3"]
        and again.queued("a") == 1
        and again.queued("b") == 1
    )
    assert again.counter("a", "delivered") == 2


def test_a_put_is_all_or_nothing(tmp_path: Path) -> None:
    outbox = Outbox(tmp_path / "o.sqlite")
    broken = Item(None, droppable=False)  # type: ignore[arg-type]  # NOT NULL refuses it mid-transaction
    with pytest.raises(sqlite3.IntegrityError):
        outbox.put({"a": items("a1"), "b": [broken]})
    assert outbox.queued("a") == 0 and outbox.peek("a", 9) == []


def test_when_full_the_oldest_frames_go_never_events(tmp_path: Path) -> None:
    outbox = Outbox(tmp_path / "o.sqlite", max_items=3)
    outbox.put({"a": [Item("e1"), *items("f1", "f2")]})
    outbox.put({"a": [*items("f3"), Item("e2")]})
    assert [q.payload for q in outbox.peek("a", 9)] == ["e1", "f3", "e2"]
    outbox.put({"a": [Item("e3"), Item("e4")]})  # only events left to give: they stay, over the bound
    assert [q.payload for q in outbox.peek("a", 9)] == ["e1", "e2", "e3", "e4"]
    assert outbox.counter("a", "dropped") == 3 and outbox.counter("b", "dropped") == 0


def test_the_file_stays_the_size_of_the_backlog_not_of_what_went_through(tmp_path: Path) -> None:
    """What the old spool's compaction did: dropped and delivered items free their pages for the next ones
    (SQLite's free list), and the write-ahead log is folded back every `wal_autocheckpoint` pages."""
    outbox = Outbox(tmp_path / "o.sqlite", max_items=100)
    payload = "x" * 1000
    for i in range(2500):  # a long outage: one frame at a time, only the newest 100 are kept
        outbox.put({"a": [Item(f"{i}:{payload}", droppable=True)]})
    for r in range(25):  # back again: everything waiting is delivered, and more comes
        outbox.put({"a": [Item(f"{r}/{k}:{payload}", droppable=True) for k in range(100)]})
        outbox.ack("a", [q.id for q in outbox.peek("a", 1000)])
    assert outbox.queued("a") == 0 and outbox.counter("a", "delivered") == 2500
    assert outbox.counter("a", "dropped") == 2500
    with closing(sqlite3.connect(outbox.path)) as db:
        page, pages_per_log = (
            db.execute(f"PRAGMA {p}").fetchone()[0] for p in ("page_size", "wal_autocheckpoint")
        )
    log_bytes = (tmp_path / "o.sqlite-wal").stat().st_size
    assert log_bytes <= (pages_per_log + 50) * (page + 24)  # a page and its frame header each
    outbox.close()  # the last connection folds the log into the file and removes it
    through = 5000 * len(payload)
    assert not (tmp_path / "o.sqlite-wal").exists()
    assert outbox.path.stat().st_size < through / 10  # 5 MB went through


@pytest.fixture
def writer(tmp_path: Path):
    made: list[SinkWriter] = []

    def make(dest: Destination) -> SinkWriter:
        w = SinkWriter(dest, Outbox(tmp_path / "o.sqlite"), retry_initial_s=0.01, retry_max_s=0.05)
        made.append(w)
        return w

    yield make
    for w in made:
        w.stop(2.0)


def fill(w: SinkWriter, n: int) -> list[str]:
    names = [f"{i:04d}.jpg" for i in range(n)]
    for name in names:
        w.outbox.put({w.name: items(name)})
    return names


def test_a_destination_that_is_away_gets_everything_in_order_once_back(writer) -> None:
    dest = Destination()
    dest.answers = [Retry("connection refused")] * 5
    w = writer(dest)
    names = fill(w, 10)
    w.start()
    wait_until(lambda: dest.received == names, "all items")
    assert w.stats().failed == 5 and w.stats().written == 10 and w.health().ok


def test_a_stop_delivers_what_waits_but_does_not_wait_for_a_destination_that_is_away(writer) -> None:
    dest = Destination()
    w = writer(dest)
    names = fill(w, 6)
    w.start()
    w.stop(10.0)  # up: what is queued is delivered before the writer stops
    assert dest.received == names and w.stats().queued == 0

    away = Destination()
    away.answers = [Retry("connection refused")] * 1000
    w = writer(away)
    fill(w, 6)
    w.start()
    wait_until(lambda: not w.health().ok, "the outage noticed")
    stopping = threading.Thread(target=w.stop, args=(60.0,))
    stopping.start()
    stopping.join(10.0)  # far less than the 60 s it may give a destination that is up
    assert not stopping.is_alive() and not w.alive()
    assert w.stats().queued == 6 and not away.received  # on disk for the next start


def test_a_batch_too_large_is_sent_in_halves(writer) -> None:
    dest = Destination()
    dest.answers = [TooLarge("HTTP 413"), TooLarge("HTTP 413")]
    w = writer(dest)
    names = fill(w, 6)
    w.start()
    wait_until(lambda: dest.received == names, "all items")
    assert dest.batches[0] == 1  # 4, then 2, then 1 at a time until a write goes through


def test_a_refusal_goes_to_the_dead_letters_with_the_answer_logged_once(
    writer, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.ERROR, logger="monitor.sinks.writer")
    dest = Destination()
    dest.answers = [Reject("HTTP 400", "unable to parse 'x'")] * 2
    w = writer(dest)
    names = fill(w, 10)
    w.start()
    wait_until(lambda: len(dest.received) == 2, "the items after the refused batches")
    assert dest.received == names[8:]
    assert [a for _, a in w.outbox.dead_letters("dest")] == ["unable to parse 'x'"] * 8
    assert w.stats().rejected == 8 and w.health().ok  # a later write went through
    assert len([r for r in caplog.records if "HTTP 400" in r.message]) == 1


def test_a_bug_keeps_the_items_and_says_so(writer, caplog: pytest.LogCaptureFixture) -> None:
    dest = Destination()
    dest.answers = [KeyError("topic")] * 3
    w = writer(dest)
    names = fill(w, 3)
    w.start()
    wait_until(lambda: not w.health().ok, "the bug to show")
    assert "failing on a bug: KeyError" in w.health().detail
    wait_until(lambda: dest.received == names, "the items, once the bug is gone")
    assert w.health().ok and "Traceback" in caplog.text


@pytest.mark.filterwarnings("ignore::pytest.PytestUnhandledThreadExceptionWarning")
def test_a_dead_writer_thread_is_started_again(writer) -> None:
    dest = Destination()
    dest.answers = [SystemExit("killed")]  # not an Exception: it ends the thread
    w = writer(dest)
    names = fill(w, 3)
    w.start()
    wait_until(lambda: not w.alive(), "the thread to die")
    assert "writer thread died" in w.health().detail
    assert w.ensure_running() is False
    wait_until(lambda: dest.received == names, "the items")
    assert w.stats().restarts == 1 and w.ensure_running() is True


def test_a_frame_waits_for_the_outbox_disk(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from tests.sinks.test_influx import CONTEXT, make_frame

    outbox = Outbox(tmp_path / "o.sqlite")
    delivery = Delivery([Destination()], outbox)
    real_put, calls = outbox.put, []

    def failing_put(batch):
        calls.append(delivery.health())
        if len(calls) < 3:
            raise sqlite3.OperationalError("disk I/O error")
        real_put(batch)

    monkeypatch.setattr(outbox, "put", failing_put)
    assert delivery.publish(CONTEXT, make_frame(0, 540.0)) is True  # stored, after two failed tries
    assert outbox.queued("dest") == 1
    assert ("outbox", False) in [(name, h.ok) for name, h in calls[1]]  # not ready while it could not store
    assert all(name != "outbox" for name, _ in delivery.health())
