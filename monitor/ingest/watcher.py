"""Watch the frames folder and hand over every complete frame file exactly once, in time order per run.

Layout: one sub-folder per run under `watch_dir` (run = the folder's path relative to `watch_dir`, usually
its name); frames directly in `watch_dir` form one run named after it. Dot files, dot folders, `*.tmp` and
names not matching `config.pattern` (or not a frame type the loader reads) are ignored.

Complete means: a file that passes its format's completeness check (`formats.file_is_whole`: a JPEG/PNG
ends with its end marker, a BMP is as long as its header says, a TIFF's directory and strips lie within it)
and, under inotify, was closed after writing (IN_CLOSE_WRITE) or renamed onto the frame name (atomic
writers). Otherwise (created/modified events, scanned files, everything under the PollingObserver, which has
no close events, and closed files that fail the check): size and mtime unchanged for `settle_s`, not empty
and passing the check. A stable file that keeps failing it (a writer pausing mid-file, or a camera that died
mid-file) waits up to `GIVE_UP_S` more, then goes anyway so the pipeline can report it.

Order: a run's frames go out in time order (`list_frames` order). A complete frame waits while an earlier
frame of its run is known but incomplete, at most `hold_s` (settle_s + 1 s, + one poll period when
polling): enough for a neighbour still being written to finish. Then it goes ahead, the laggard follows
when complete (logged). Frames that no event or scan has announced yet cannot be waited for.

Threads: the observer thread only appends events to an unbounded queue, so nothing is lost while
`on_frame` blocks (the daemon's bounded queue is the back-pressure). One delivery thread scans, reads the
queue, checks files and calls `on_frame`: never concurrently, never twice for a file in one process.
"""

import fnmatch
import logging
import os
import queue
import threading
import time
from collections import defaultdict
from collections.abc import Callable
from pathlib import Path

from watchdog import events as ev

from monitor.config.ingest import IngestConfig
from monitor.ingest.checkpoint import Checkpoint
from monitor.ingest.formats import FRAME_SUFFIXES, file_is_whole
from monitor.ingest.identity import FrameArrival, RunKey, RunKeys
from monitor.ingest.loader import frame_order, inside, list_frames
from monitor.ingest.observe import FolderObserver
from monitor.ingest.pending import Candidate, RunOrder

log = logging.getLogger(__name__)

_RESCAN_S = 30.0  # full rescan period: a safety net for events the kernel dropped (inotify queue overflow)
_IDLE_WAIT_S = 0.5  # queue wait when nothing is pending; stop() wakes the thread sooner


class FrameWatcher:
    """Delivers each complete frame file under `config.watch_dir` once to `on_frame` (see module doc)."""

    def __init__(
        self,
        *,
        config: IngestConfig,
        checkpoint: Checkpoint,
        on_frame: Callable[[FrameArrival], None],
        keys: RunKeys | None = None,
    ) -> None:
        self._config = config
        self._checkpoint = checkpoint
        self._keys = keys or RunKeys()
        self._on_frame = on_frame
        self._root = Path(os.path.abspath(config.watch_dir))
        self.hold_s = config.settle_s + 1.0 + (config.poll_interval_s if config.polling else 0.0)
        self._tick = min(0.1, max(0.02, config.settle_s / 5))
        self.last_arrival: float | None = None  # wall-clock time of the last new complete frame
        self._last_mono: float | None = None
        self._events: queue.SimpleQueue[ev.FileSystemEvent | None] = queue.SimpleQueue()
        self._pending: dict[Path, Candidate] = {}
        self._delivered: defaultdict[str, set[str]] = defaultdict(set)
        self._order = RunOrder(config.stray_gap_s)
        self._empty: dict[Path, str] = {}  # empty files handed over (to be flagged) -> their run id
        self._stop = threading.Event()
        self._observer: FolderObserver | None = None
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        """Start watching, then scan: events racing with the scan are deduplicated by path."""
        if self._thread is not None:
            raise RuntimeError("FrameWatcher.start() called twice")
        if not self._root.is_dir():
            raise FileNotFoundError(f"watch folder {self._root} does not exist")
        self._observer = FolderObserver(self._root, self._config, self._events)
        self._observer.start()
        self._thread = threading.Thread(target=self._run, name="frame-watcher", daemon=True)
        self._thread.start()

    def stop(self, timeout: float = 5.0) -> None:
        """Stop watching; frames not handed over yet come again on the next start (not checkpointed)."""
        self._stop.set()
        self._events.put(None)  # wake the delivery thread
        if self._observer is not None:
            self._observer.stop(timeout)
        if self._thread is not None:
            self._thread.join(timeout)
            if self._thread.is_alive():
                log.warning("frame watcher: on_frame still blocked after %.1f s at stop", timeout)

    @property
    def started(self) -> bool:
        return self._thread is not None

    @property
    def running(self) -> bool:
        return self._thread is not None and self._thread.is_alive() and not self._stop.is_set()

    def stalled(self) -> bool:
        """A run is active (a frame has arrived) and no new frame came for `stall_timeout_s`."""
        last = self._last_mono
        return last is not None and time.monotonic() - last > self._config.stall_timeout_s

    # -- delivery thread ---------------------------------------------------------------------------

    def _run(self) -> None:
        next_scan, live = time.monotonic(), False  # the first scan is the catch-up
        while not self._stop.is_set():
            try:
                if self._observer is not None and self._observer.check():
                    self._scan(self._root, live=True)
                if time.monotonic() >= next_scan:
                    self._scan(self._root, live=live)
                    next_scan, live = time.monotonic() + _RESCAN_S, True
                self._drain(self._tick if self._pending else _IDLE_WAIT_S)
                now = time.monotonic()
                self._check(now)
                self._deliver(now)
            except Exception:
                # Nothing upstream can catch this thread's errors, and a dead thread is a dead feed: log,
                # back off a little and carry on (the state is consistent between steps).
                log.exception("frame watcher: unexpected error; continuing")
                self._stop.wait(1.0)

    def _drain(self, timeout: float) -> None:
        try:
            event = self._events.get(timeout=timeout)
            while True:
                if event is not None:
                    self._handle(event)
                event = self._events.get_nowait()
        except queue.Empty:
            pass

    def _handle(self, event: ev.FileSystemEvent) -> None:
        src = Path(os.fsdecode(event.src_path))
        dest = Path(os.fsdecode(event.dest_path)) if event.dest_path else None
        if isinstance(event, ev.DirMovedEvent | ev.DirDeletedEvent):
            self._pending = {p: c for p, c in self._pending.items() if not p.is_relative_to(src)}
        if isinstance(event, ev.DirCreatedEvent | ev.DirMovedEvent):
            # files can land in a new folder before its watch exists: look for them directly
            self._scan(dest or src, live=True)
        elif isinstance(event, ev.FileDeletedEvent):
            self._pending.pop(src, None)
        elif isinstance(event, ev.FileMovedEvent):
            self._pending.pop(src, None)
            if dest is not None:  # a rename is atomic: the file is whole, unless polling cannot tell
                self._offer(dest, live=True, complete=not self._config.polling)
        elif isinstance(event, ev.FileClosedEvent | ev.FileCreatedEvent | ev.FileModifiedEvent):
            self._offer(src, live=True, complete=isinstance(event, ev.FileClosedEvent))

    def _run_of(self, path: Path) -> str | None:
        """The run a frame file belongs to, or None if it is outside the tree or hidden."""
        try:
            parts = path.relative_to(self._root).parts
        except ValueError:
            return None
        if not parts or any(p.startswith(".") for p in parts):
            return None
        return "/".join(parts[:-1]) or self._root.name

    def _is_frame(self, name: str) -> bool:
        lower = name.lower()
        return (
            not name.startswith(".")
            and not lower.endswith(".tmp")
            and os.path.splitext(lower)[1] in FRAME_SUFFIXES
            and fnmatch.fnmatchcase(lower, self._config.pattern.lower())
        )

    def _offer(self, path: Path, *, live: bool, complete: bool) -> None:
        run = self._run_of(path)
        if run is None or not self._is_frame(path.name):
            return
        if path in self._empty and _size(path):  # an empty file flagged earlier has been filled: a frame now
            self._delivered[self._empty.pop(path)].discard(path.name)
        if self._taken(run, path):
            return
        cand = self._pending.get(path)
        if cand is None:
            cand = self._pending[path] = Candidate(run, path, frame_order(path.name), live)
            cand.seen_after = self._order.latest(run)
        cand.complete = cand.complete or complete
        cand.live = cand.live or live

    def _taken(self, run: str, path: Path, key: RunKey | None = None) -> bool:
        """Already handed over in this process, or checkpointed by an earlier one (once the run's key is
        known: a frame of a run without a whole frame yet is looked at again when handed over)."""
        key = key or self._keys.key(run, path.parent)
        return key is not None and (
            path.name in self._delivered[key.id] or self._checkpoint.done(key.id, path.name)
        )

    def _scan(self, folder: Path, *, live: bool) -> None:
        for dirpath, dirnames, _ in os.walk(folder):
            dirnames[:] = sorted(d for d in dirnames if not d.startswith("."))
            try:
                frames = list_frames(Path(dirpath))
            except OSError as exc:
                log.warning("frame watcher: cannot list %s: %s", dirpath, exc)
                continue
            for path in frames:
                self._offer(path, live=live, complete=False)

    def _check(self, now: float) -> None:
        """Decide which pending files are complete now."""
        for path, cand in list(self._pending.items()):
            if cand.ready_at is not None:
                continue
            if path.is_symlink() and not inside(path, self._root):
                cand.ready_at = now  # handed over unread: the loader flags it without opening the target
                continue
            try:
                st = path.stat()
            except FileNotFoundError:
                del self._pending[path]
                continue
            except OSError:  # e.g. a share briefly gone: look again on the next tick
                continue
            if cand.complete and (st.st_size == 0 or not file_is_whole(path)):
                # closed, but no whole frame yet: some writers create first and fill later, or close between
                # chunks; the size-stable rule (with its give-up) decides instead
                cand.complete = False
            if not (cand.complete or cand.settled(st, now, self._config.settle_s)):
                continue
            cand.ready_at = now
            # a start-up backlog is not a live feed, unless its newest files are recent
            if cand.live or time.time() - st.st_mtime < self._config.stall_timeout_s:
                self._last_mono, self.last_arrival = now, time.time()

    def _deliver(self, now: float) -> None:
        by_run: defaultdict[str, list[Candidate]] = defaultdict(list)
        for cand in self._pending.values():
            by_run[cand.run].append(cand)
        for cands in by_run.values():
            holding: list[Candidate] = []  # earlier frames of the run, known but not complete yet
            for cand in sorted(cands, key=lambda c: c.order):
                if self._stop.is_set():
                    return
                if cand.ready_at is None:
                    if not cand.overtaken:
                        holding.append(cand)
                    continue
                if holding:
                    if now - cand.ready_at < self.hold_s:
                        break  # hold this and every later frame of the run a little longer
                    names = ", ".join(h.path.name for h in holding)
                    log.warning(
                        "frame watcher: %s/%s goes before incomplete %s", cand.run, cand.path.name, names
                    )
                    for h in holding:
                        h.overtaken = True
                    holding.clear()
                if self._order.far_ahead(cand) and now - cand.ready_at < self.hold_s:
                    break  # far ahead of its run: wait a moment, do earlier frames keep coming?
                self._hand_over(cand)

    def _hand_over(self, cand: Candidate) -> None:
        del self._pending[cand.path]
        if not cand.path.is_file():
            log.info("frame watcher: %s vanished before delivery", cand.path)
            return
        key = self._keys.key(cand.run, cand.path.parent) or self._keys.unidentified(
            cand.run, cand.path.parent
        )
        if self._taken(cand.run, cand.path, key):
            return
        stray = self._order.stray(cand, self._pending.values())
        if not stray and self._order.late(key.id, cand):
            log.warning("frame watcher: %s/%s arrived late, after later frames", cand.run, cand.path.name)
        self._delivered[key.id].add(cand.path.name)
        if not _size(cand.path):
            self._empty[cand.path] = key.id
        try:
            self._on_frame(FrameArrival(key, cand.path, stray=stray))
        except Exception:
            # one bad hand-over must not end the feed; the frame stays unmarked, so a restart retries it
            log.exception("frame watcher: on_frame failed for %s", cand.path)


def _size(path: Path) -> int:
    try:
        return path.stat().st_size
    except OSError:
        return 0
