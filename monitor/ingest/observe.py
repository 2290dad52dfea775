"""The file-system observer behind the watcher: it only queues events, and it watches the folder again when
the folder is deleted and made again (an inotify watch dies with its folder; without this, frames would
arrive only on the watcher's periodic rescan)."""

import logging
import os
import queue
from pathlib import Path

from watchdog import events as ev
from watchdog.observers import Observer
from watchdog.observers.api import BaseObserver
from watchdog.observers.polling import PollingObserver

from monitor.config.ingest import IngestConfig

log = logging.getLogger(__name__)

EVENTS: list[type[ev.FileSystemEvent]] = [
    *(ev.FileCreatedEvent, ev.FileModifiedEvent, ev.FileClosedEvent, ev.FileMovedEvent, ev.FileDeletedEvent),
    *(ev.DirCreatedEvent, ev.DirMovedEvent, ev.DirDeletedEvent),
]
EventQueue = queue.SimpleQueue[ev.FileSystemEvent | None]


class _Enqueue(ev.FileSystemEventHandler):
    """Runs in the observer thread: only queue the event, so a slow consumer never drops one."""

    def __init__(self, events: EventQueue) -> None:
        self._events = events

    def dispatch(self, event: ev.FileSystemEvent) -> None:
        self._events.put(event)


def _identity(folder: Path) -> tuple[int, int] | None:
    try:
        st = folder.stat()
    except OSError:
        return None
    return (st.st_dev, st.st_ino) if os.path.isdir(folder) else None


class FolderObserver:
    """Watches `root` recursively, queueing every event into `events`."""

    def __init__(self, root: Path, config: IngestConfig, events: EventQueue) -> None:
        self.root = root
        self._events = events
        self._observer: BaseObserver = (
            PollingObserver(timeout=config.poll_interval_s) if config.polling else Observer()
        )
        self._watching: tuple[int, int] | None = None

    def start(self) -> None:
        self._watching = _identity(self.root)
        self._observer.schedule(_Enqueue(self._events), str(self.root), recursive=True, event_filter=EVENTS)
        self._observer.start()  # watches exist when this returns, so nothing written after a scan is missed

    def stop(self, timeout: float) -> None:
        self._observer.stop()
        self._observer.join(timeout)

    def check(self) -> bool:
        """Watch the folder again if it was deleted and made again (one log line each way); True when it
        was, so the caller scans it for what landed before the new watch."""
        now = _identity(self.root)
        if now == self._watching:
            return False
        if now is None:
            log.warning("watch folder %s is gone; waiting for it to come back", self.root)
            self._watching = None
            return False
        self._observer.unschedule_all()
        self._observer.schedule(_Enqueue(self._events), str(self.root), recursive=True, event_filter=EVENTS)
        self._watching = now
        log.warning("watch folder %s was made again: watching it again", self.root)
        return True
