"""A frame file the watcher knows of but has not handed over yet, the size-stable rule that decides when a
file without a close or rename event is complete, and each run's order of frames handed over."""

import os
from collections.abc import Iterable
from dataclasses import dataclass, field
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
    seen_after: int | None = None  # the second of its run's latest frame handed over when it was first seen

    def settled(self, st: os.stat_result, now: float, settle_s: float) -> bool:
        """The size-stable rule, for files without a close or rename event."""
        sig = (st.st_size, st.st_mtime_ns)
        if sig != self.sig:
            self.sig, self.sig_since = sig, now
            return False
        stable = now - self.sig_since
        if stable < settle_s:
            return False
        # still empty after the settle time: handed over to be flagged (it comes again if filled later)
        return st.st_size == 0 or stable >= settle_s + GIVE_UP_S or file_is_whole(self.path)


Order = tuple[int, int, str]  # loader.frame_order of a file name


@dataclass(slots=True)
class RunOrder:
    """What the watcher has handed over per run, in order: it tells a late frame (logged once per frame
    it is late after, not once per later frame) and a stray one (named more than `stray_gap_s` ahead of
    the run, while earlier frames of the run kept coming: another run's frame dropped in)."""

    stray_gap_s: float
    _last: dict[str, Order] = field(default_factory=dict)  # run id -> latest frame handed over
    _late_after: dict[str, Order] = field(default_factory=dict)  # run id -> the frame lateness was logged for
    _second: dict[str, int] = field(default_factory=dict)  # run name -> the second of its latest frame

    def far_ahead(self, cand: Candidate) -> bool:
        last = self._second.get(cand.run)
        return cand.order[0] == 0 and last is not None and cand.order[1] - last > self.stray_gap_s

    def latest(self, run: str) -> int | None:
        """The second of the run's latest frame handed over (for Candidate.seen_after)."""
        return self._second.get(run)

    def stray(self, cand: Candidate, pending: Iterable[Candidate]) -> bool:
        """Far ahead, and earlier frames of the run were handed over since it was seen, or wait now. (A
        frame seen before any of its run went, as in the start-up scan, is a gap unless earlier ones wait.)"""
        return self.far_ahead(cand) and (
            (cand.seen_after is not None and cand.seen_after != self._second.get(cand.run))
            or any(c.run == cand.run and c.order < cand.order for c in pending)
        )

    def late(self, run_id: str, cand: Candidate) -> bool:
        """Record a (not stray) frame handed over; True if it is late and that is news worth a log line."""
        last = self._last.get(run_id)
        if last is not None and cand.order < last:
            news = self._late_after.get(run_id) != last
            self._late_after[run_id] = last
            return news
        self._last[run_id] = cand.order
        if cand.order[0] == 0:
            self._second[cand.run] = cand.order[1]
        return False
