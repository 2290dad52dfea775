"""The live page's routes, all read-only: the static page from the package, the board's JSON (long-polled),
the pictures it names, the feed and sink health, and the stored runs with their tables.

    /                         the page (static/index.html, live.js, live.css)
    /api/live?since=V&run=R   the latest frame, the run's points after version V, its events, health
    /api/runs                 the last stored runs, with their links
    /live/frame               the latest frame; /live/forecast its forecast frame; /live/snapshot/<event>
    /runs/<id>/table.csv      the run's digitize table (table.xlsx too) and its events (events.json)
    /runs/<id>/report.html    the run's report as the daemon wrote it when the run ended, and its plots
"""

import base64
import hashlib
import mimetypes
import re
import sqlite3
import tempfile
from collections.abc import Callable, Sequence
from importlib import resources
from pathlib import Path
from typing import Any

import cv2
import numpy as np

from monitor.report.html import CSS
from monitor.service.http import NOT_READY, Health, Reply, Request, json_reply, public_reason
from monitor.service.live import LiveBoard
from monitor.service.run_reports import REPORT, report_folder
from monitor.sinks.store import export_table, stored_events, stored_runs
from monitor.sinks.writer import SinkWriter

STATIC = ("index.html", "live.js", "live.css")
LAST_RUNS = 10
WAIT_S = 8.0  # a long poll returns at once on a new frame, else after this (a page then asks again)
BROWSER_IMAGES = {".jpg", ".jpeg", ".png"}
REPORT_IMAGE = re.compile(r"[A-Za-z0-9_-]{1,64}\.png")  # a plot beside the report: one plain file name
# The report carries its style inline and its plots as data: URIs; it runs no script and loads nothing.
REPORT_CSP = (
    "default-src 'none'; img-src 'self' data:; "
    f"style-src 'sha256-{base64.b64encode(hashlib.sha256(CSS.encode()).digest()).decode()}'; "
    "frame-ancestors 'none'; base-uri 'none'; form-action 'none'"
)
TABLES = {"table.csv": "text/csv", "table.xlsx": mimetypes.types_map.get(".xlsx", "application/octet-stream")}


class LivePage:
    def __init__(
        self, board: LiveBoard, *, health: Callable[[], Health], writers: Sequence[SinkWriter],
        store: Path | None, detailed: bool, reports: Path | None = None,
    ) -> None:  # fmt: skip
        self.board = board
        self.health = health
        self.writers = writers
        self.store = store
        self.reports = reports  # the daemon's run reports (run_reports.py), None: it writes none
        self.detailed = detailed  # loopback: reasons in full; beyond: what is not ready, without detail

    def __call__(self, request: Request) -> Reply | None:
        path = request.path
        if path in ("/", "/index.html"):
            return _static("index.html")
        if path.startswith("/static/") and path.removeprefix("/static/") in STATIC:
            return _static(path.removeprefix("/static/"))
        if path == "/favicon.ico":  # asked for by a browser on the served report: there is none
            return Reply(204, "image/x-icon", b"")
        if path == "/api/live":
            return json_reply(self.live(request))
        if path == "/api/runs":
            return json_reply({"runs": self.runs()})
        if path.startswith("/live/"):
            return _picture(self.board.image(path.removeprefix("/live/")))
        if path.startswith("/runs/"):
            return self.run_file(path.removeprefix("/runs/"))
        return None

    def live(self, request: Request) -> dict[str, Any]:
        since = _int(request.arg("since"), 0)
        if request.arg("wait"):
            self.board.wait(since, WAIT_S)
        doc = self.board.view(since, request.arg("run") or None)
        h = self.health()
        reasons = list(h.reasons) if self.detailed else [public_reason(r) for r in h.reasons]
        doc["health"] = {"alive": h.alive, "ready": h.ready, "reasons": reasons}
        try:
            doc["sinks"] = [self._sink(w) for w in self.writers]
        except sqlite3.ProgrammingError:  # the outbox is closed: the daemon is stopping
            doc["sinks"] = []
        return doc

    def _sink(self, writer: SinkWriter) -> dict[str, Any]:
        h, s = writer.health(), writer.stats()
        detail = h.detail if self.detailed or h.ok else NOT_READY
        return {"name": writer.name, "ok": h.ok, "detail": detail, "written": s.written, "failed": s.failed,
                "queued": s.queued, "dropped": s.dropped, "rejected": s.rejected}  # fmt: skip

    def runs(self) -> list[dict[str, Any]]:
        if self.store is None or not self.store.is_file():
            return []
        runs = stored_runs(self.store)[-LAST_RUNS:][::-1]
        return [
            {"id": r["run"], "name": r["run"].split("@")[0], "frames": r["frames"],
             "started_at": r["started_at"],
             "first_time_s": r["first_time_s"], "last_time_s": r["last_time_s"],
             "links": self._links(r["run"])}
            for r in runs
        ]  # fmt: skip

    def _links(self, run: str) -> dict[str, str]:
        links = {name: f"/runs/{run}/{name}" for name in (*TABLES, "events.json")}
        if self._report_file(run, REPORT) is not None:
            links["report"] = f"/runs/{run}/{REPORT}"
        return links

    def _report_file(self, run: str, name: str) -> Path | None:
        """A file of the run's report folder: report.html or a plot, named by one plain file name, and a
        regular file inside the folder (a link pointing out of it is not followed)."""
        if self.reports is None or not (name == REPORT or REPORT_IMAGE.fullmatch(name)):
            return None
        folder = report_folder(self.reports, run)
        if folder is None:
            return None
        path = folder / name
        try:
            inside = path.resolve().is_relative_to(folder.resolve())
        except OSError:
            return None
        return path if inside and path.is_file() else None

    def run_file(self, rest: str) -> Reply | None:
        run, _, name = rest.partition("/")
        if self.store is None or not self.store.is_file():
            return None
        if run not in {r["run"] for r in stored_runs(self.store)}:  # only a stored run id, never a path
            return None
        if name == "events.json":
            return json_reply({"run": run, "events": stored_events(self.store, run)})
        report = self._report_file(run, name)
        if report is not None:
            try:
                body = report.read_bytes()
            except OSError:  # swapped for a newer report just now: the next request gets that one
                return None
            if name == REPORT:
                return Reply(
                    200, "text/html; charset=utf-8", body, (("Content-Security-Policy", REPORT_CSP),)
                )
            return Reply(200, "image/png", body)
        if name not in TABLES:
            return None
        with tempfile.TemporaryDirectory(prefix="furnace-table-") as tmp:
            out = Path(tmp) / name
            export_table(self.store, run, out)
            body = out.read_bytes()
        filename = f"{run.split('@')[0]}.{name.split('.')[1]}"
        return Reply(
            200, TABLES[name], body, (("Content-Disposition", f'attachment; filename="{filename}"'),)
        )


def _int(text: str, default: int) -> int:
    return int(text) if text.isdigit() else default


def _static(name: str) -> Reply:
    body = resources.files("monitor.service").joinpath("static", name).read_bytes()
    kind = mimetypes.guess_type(name)[0] or "application/octet-stream"
    return Reply(200, f"{kind}; charset=utf-8" if kind.startswith("text/") else kind, body)


def _picture(path: Path | None) -> Reply | None:
    """A frame as the browser can show it: JPEG and PNG as they are, other formats (TIFF) as JPEG."""
    if path is None or not path.is_file():
        return None
    suffix = path.suffix.lower()
    if suffix in BROWSER_IMAGES:
        return Reply(200, "image/png" if suffix == ".png" else "image/jpeg", path.read_bytes())
    image = cv2.imdecode(np.fromfile(path, dtype=np.uint8), cv2.IMREAD_COLOR)
    if image is None:
        return None
    ok, data = cv2.imencode(".jpg", image)
    return Reply(200, "image/jpeg", data.tobytes()) if ok else None
