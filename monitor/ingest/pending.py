"""A frame file the watcher knows of but has not handed over yet, and the size-stable rule that decides
when a file without a close or rename event is complete."""

import os
from dataclasses import dataclass
from pathlib import Path

from monitor.ingest.formats import file_is_whole

GIVE_UP_S = 5.0  # extra wait for a stable file failing its completeness check, then it goes anyway


@dataclass(slots=True)
class Candidate:
    """A frame file seen (by an event or a scan) and not handed over yet."""

    run: str
    path: Path
    order: tuple[int, int, str]
    live: bool  # seen while running (not in the start-up scan): counts as a new arrival
    complete: bool = False  # a close or rename said so
    sig: tuple[int, int] | None = None  # (size, mtime_ns) at the last look
    sig_since: float = 0.0  # monotonic time `sig` was first seen
    ready_at: float | None = None
    overtaken: bool = False  # a later frame went ahead: it no longer holds the run back

    def settled(self, st: os.stat_result, now: float, settle_s: float) -> bool:
        """The size-stable rule, for files without a close or rename event."""
        sig = (st.st_size, st.st_mtime_ns)
        if sig != self.sig:
            self.sig, self.sig_since = sig, now
            return False
        stable = now - self.sig_since
        if st.st_size == 0 or stable < settle_s:
            return False
        return stable >= settle_s + GIVE_UP_S or file_is_whole(self.path)
