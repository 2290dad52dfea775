"""The daemon's run reports: when a run ends (its session retires for idling, or the daemon stops cleanly
with the run still open), its frames' records go through the summary and the writer `analyze` uses
(`summarise_frames`, `write_outputs`), into `<reports folder>/<run id>/`: report.html with its plots,
features.csv and events.json. The live page links and serves them.

Writing takes ~0.7 s on the pipeline thread for a 562-frame run, ~3 s for a ten-hour one, once per run;
frames arriving meanwhile wait in the queue. A report that cannot be written is one log line (the
traceback the first time), never an error for the pipeline: the run's frames were published and
checkpointed all the same."""

import logging
import os
import shutil
import time
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import quote

from monitor.analytics.result import AnalysisResult
from monitor.config import MonitorConfig
from monitor.pipeline.batch import summarise_frames
from monitor.pipeline.session import RunSession

log = logging.getLogger(__name__)

REPORT = "report.html"


def reports_dir(config: MonitorConfig) -> Path:
    """Where the daemon writes its run reports: `reports/` beside the store, in the state folder."""
    return Path(os.path.abspath(config.store.path)).parent / "reports"


def report_folder(root: Path, run_id: str) -> Path | None:
    """A run's report folder: its id quoted as the checkpoint quotes it, so every run gets one flat folder
    and no id can name a path outside `root`; None for an id that is no name at all."""
    if not run_id or run_id in (".", "..") or "\0" in run_id:
        return None
    return root / quote(run_id, safe="@")


@dataclass(frozen=True, slots=True)
class WrittenReport:
    result: AnalysisResult
    path: Path  # its report.html


class RunReports:
    def __init__(self, root: Path) -> None:
        self.root = root
        self.failures = 0  # reports that could not be written, since the start
        # The last report written, summary included: the demo prints it instead of reading the run again.
        # Only the last one, so a daemon that runs for months holds one run's summary, not every run's.
        self.last: WrittenReport | None = None

    def write(self, session: RunSession) -> Path | None:
        """Write the session's run report; its report.html, or None if there is nothing to report or it
        could not be written (logged)."""
        if not session.records or session.context.folder is None:
            return None
        folder = report_folder(self.root, session.key.id)
        if folder is None:
            return None
        try:
            return self._write(session, folder, session.context.folder)
        except Exception as exc:  # the pipeline thread outlives a report: a full disk, a read-only folder
            self.failures += 1
            if self.failures == 1:
                log.exception("run %s: report not written to %s", session.key.name, folder)
            else:
                log.error("run %s: report not written to %s (%s)", session.key.name, folder, exc)
            return None

    def _write(self, session: RunSession, folder: Path, frames: Path) -> Path:
        from monitor.analytics.outputs import write_outputs  # matplotlib: only once a run ends

        started = time.perf_counter()
        result = summarise_frames(
            session.records, session.processor, run=session.key.name,
            paths=[frames / r.file for r in session.records],
        )  # fmt: skip
        # Written aside and swapped in, so the page never serves half a report, and a run that resumed
        # and ended again replaces its earlier report whole.
        fresh, old = folder.with_name(f".{folder.name}.new"), folder.with_name(f".{folder.name}.old")
        for leftover in (fresh, old):
            shutil.rmtree(leftover, ignore_errors=True)
        write_outputs(fresh, result, report=True, source="daemon")
        if folder.exists():
            folder.rename(old)
        fresh.rename(folder)
        shutil.rmtree(old, ignore_errors=True)
        log.info(
            "run %s: report of %d frames, %d events written to %s in %.1f s",
            session.key.name, len(result.times), len(result.events), folder, time.perf_counter() - started,
        )  # fmt: skip
        self.last = WrittenReport(result=result, path=folder / REPORT)
        return folder / REPORT
