"""The daemon's run reports, with the real pipeline, the real store and the real HTTP server: a run that
goes idle gets report.html with its events (the same report whether or not the run was retired and resumed
half-way), the runs API links it, the server gives it and its plots and nothing else; a reports folder that
cannot be written is one log line and the daemon goes on processing."""

import base64
import hashlib
import http.client
import json
import logging
import re
from collections.abc import Iterator
from pathlib import Path

import pytest

from monitor.config import MonitorConfig, parse_config
from monitor.ingest.identity import FrameArrival, RunKeys
from monitor.ingest.loader import list_frames
from monitor.pipeline.process import processor_factory
from monitor.pipeline.session import ProcessorFactory
from monitor.records import EventType
from monitor.service.app import build_daemon
from monitor.service.daemon import Daemon
from monitor.service.http import Health, HealthServer
from monitor.service.live import LiveBoard
from monitor.service.run_reports import reports_dir
from monitor.service.web import REPORT_CSP, LivePage
from monitor.simulate import SimulatedRun, SimulationOptions, simulate
from monitor.simulate.profile import FurnaceProfile
from monitor.sinks.store import StoreSink, stored_events, stored_runs
from tests.service.test_daemon import drop_frames_into
from tests.services import wait_until

# A whole run in 120 small frames (melting, a short hold, fast cooling): every event of a run.
FAST = SimulationOptions(
    seconds=120, start=110, width=320, height=240, seed=3, workers=1,
    profile=FurnaceProfile(peak_at_s=160.0, hold_s=10.0, cool_rate_c_per_s=10.0),
)  # fmt: skip


@pytest.fixture(scope="module")
def processors() -> ProcessorFactory:
    return processor_factory(parse_config({}, env={}))


@pytest.fixture(scope="module")
def fast_run(tmp_path_factory: pytest.TempPathFactory) -> SimulatedRun:
    return simulate(tmp_path_factory.mktemp("fast"), FAST, progress=False)


def config_in(state: Path, *, idle_s: float = 600) -> MonitorConfig:
    """A daemon config with its state (store, outbox, checkpoints) in `state`, frames in state/frames."""
    (state / "frames").mkdir(parents=True, exist_ok=True)
    data = {
        "ingest": {"watch_dir": str(state / "frames"), "checkpoint_dir": str(state / "ckpt"),
                   "settle_s": 0.05, "session_idle_s": idle_s},
        "mqtt": {"enabled": False},
        "store": {"path": str(state / "store.sqlite")},
        "outbox": {"path": str(state / "outbox.sqlite")},
    }  # fmt: skip
    return parse_config(data, env={})


def stored_daemon(state: Path, processors: ProcessorFactory, *, idle_s: float = 600) -> Daemon:
    config = config_in(state, idle_s=idle_s)
    return build_daemon(config, sinks=[StoreSink(config.store)], processors=processors)


def arrivals(run: SimulatedRun) -> list[FrameArrival]:
    key = RunKeys().key("run1", run.out)
    assert key is not None
    return [FrameArrival(key, path) for path in list_frames(run.out)]


def stored_frames(daemon: Daemon) -> int:
    path = daemon.config.store.path
    return sum(r["frames"] for r in stored_runs(path)) if path.is_file() else 0


def retire_all(daemon: Daemon) -> None:
    """The idle round once every session has been quiet for longer than session_idle_s."""
    now = max(s.last_active for s in daemon.sessions.values()) + daemon.config.ingest.session_idle_s + 1
    daemon.retire_idle(now)
    assert not daemon.sessions


def run_through(daemon: Daemon, items: list[FrameArrival], *, retire_at: int | None = None) -> None:
    """The frames through the daemon's pipeline in order (as its worker would), retiring the run at
    `retire_at` (it resumes from its checkpoint on the next frame) and at the end."""
    daemon.delivery.start()
    try:
        for i, arrival in enumerate(items):
            if i == retire_at:
                retire_all(daemon)
            daemon.process(arrival)
        wait_until(lambda: stored_frames(daemon) == len(items), "every frame in the store")
        retire_all(daemon)
    finally:
        daemon.delivery.stop()


@pytest.fixture(scope="module")
def reported(
    fast_run: SimulatedRun, processors: ProcessorFactory, tmp_path_factory: pytest.TempPathFactory
) -> dict[str, Path]:
    """The run through a daemon uninterrupted, and through another retired half-way: their state folders."""
    states = {}
    for name, retire_at in (("whole", None), ("resumed", 60)):
        state = tmp_path_factory.mktemp(name)
        run_through(stored_daemon(state, processors), arrivals(fast_run), retire_at=retire_at)
        states[name] = state
    return states


def test_a_run_that_goes_idle_gets_its_report_with_its_events(
    reported: dict[str, Path], fast_run: SimulatedRun
) -> None:
    state = reported["whole"]
    run_id = arrivals(fast_run)[0].key.id
    folder = reports_dir(config_in(state)) / run_id
    assert folder.parent == state / "reports"
    html = (folder / "report.html").read_text(encoding="utf-8")
    stored = [e["type"] for e in stored_events(state / "store.sqlite", run_id)]
    assert EventType.CRYSTALLIZATION_START in stored and EventType.MELTING_COMPLETE in stored
    written = json.loads((folder / "events.json").read_text(encoding="utf-8"))
    assert [e["type"] for e in written["events"]] == stored and written["source"] == "daemon"
    assert all(f"<td>{kind}</td>" in html for kind in stored)
    assert f"{len(fast_run.frames)} frames" in html
    assert {p.name for p in folder.glob("*.png")} >= {"mean.png", "temperatures.png", "fraction.png"}


def test_a_run_retired_and_resumed_half_way_gets_the_same_report(
    reported: dict[str, Path], fast_run: SimulatedRun
) -> None:
    run_id = arrivals(fast_run)[0].key.id
    whole, resumed = (reported[name] / "reports" / run_id for name in ("whole", "resumed"))
    for name in ("features.csv", "events.json"):
        assert (resumed / name).read_text() == (whole / name).read_text(), name
    assert not list((reported["resumed"] / "reports").glob(".*"))  # the half report was replaced whole


@pytest.fixture
def served(reported: dict[str, Path]) -> Iterator[HealthServer]:
    state = reported["whole"]
    health = lambda: Health(True, True, ())  # noqa: E731
    page = LivePage(
        LiveBoard(), health=health, writers=[], store=state / "store.sqlite", detailed=True,
        reports=state / "reports",
    )  # fmt: skip
    server = HealthServer("127.0.0.1", 0, health=health, metrics=lambda: b"", routes=page)
    server.start()
    yield server
    server.stop()


def _get(port: int, path: str) -> tuple[int, dict[str, str], bytes]:
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    connection.request("GET", path)
    answer = connection.getresponse()
    body = answer.read()
    connection.close()
    return answer.status, dict(answer.getheaders()), body


def test_the_runs_list_links_the_report_and_the_server_gives_it_and_its_plots_only(
    served: HealthServer, reported: dict[str, Path], tmp_path: Path
) -> None:
    port = served.port
    runs = json.loads(_get(port, "/api/runs")[2])["runs"]
    run_id = runs[0]["id"]
    assert runs[0]["links"]["report"] == f"/runs/{run_id}/report.html"
    status, headers, body = _get(port, runs[0]["links"]["report"])
    assert status == 200 and headers["Content-Type"].startswith("text/html")
    assert headers["Content-Security-Policy"] == REPORT_CSP
    # the report's own style is allowed by its hash, its plots as data: URIs
    style = re.search(rb"<style>(.*?)</style>", body, re.S)
    assert style is not None and "img-src 'self' data:" in REPORT_CSP
    digest = base64.b64encode(hashlib.sha256(style.group(1)).digest()).decode()
    assert f"style-src 'sha256-{digest}'" in REPORT_CSP and "script-src" not in REPORT_CSP
    assert body == (reported["whole"] / "reports" / run_id / "report.html").read_bytes()
    status, headers, body = _get(port, f"/runs/{run_id}/mean.png")
    assert status == 200 and headers["Content-Type"] == "image/png" and body.startswith(b"\x89PNG")
    # nothing but report.html and its plots, of a stored run, inside its report folder
    outside = reported["whole"] / "reports" / "secret.png"
    outside.write_bytes(b"\x89PNG secret")
    (reported["whole"] / "reports" / run_id / "link.png").symlink_to(outside)
    for path in (
        f"/runs/{run_id}/../secret.png", f"/runs/{run_id}/%2e%2e/secret.png", f"/runs/{run_id}/link.png",
        f"/runs/{run_id}/features.csv", f"/runs/{run_id}/", "/runs/..%2Fsecret.png/report.html",
        "/runs/run2@0000000000/report.html", f"/runs/{run_id}/..%2Fsecret.png", "/runs/../store.sqlite",
    ):  # fmt: skip
        assert _get(port, path)[0] == 404, path
    assert _get(port, "/favicon.ico")[0] == 204  # the served report's browser asks for one: there is none


def test_a_report_that_cannot_be_written_is_logged_and_the_daemon_goes_on(
    fast_run: SimulatedRun, processors: ProcessorFactory, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="monitor.service")
    daemon = stored_daemon(tmp_path, processors, idle_s=0.5)
    (tmp_path / "reports").write_text("a file where the reports folder should be")
    frames = sorted(fast_run.out.glob("*.jpg"))
    daemon.start()
    try:
        drop_frames_into(frames[:20], tmp_path / "frames" / "run1")
        wait_until(lambda: stored_frames(daemon) == 20, "the first run stored")
        failed = lambda: [r for r in caplog.records if "report not written" in r.getMessage()]  # noqa: E731
        wait_until(lambda: len(failed()) >= 1, "the first run retired, its report failing")
        assert failed()[0].exc_info is not None  # the first failure with its traceback
        drop_frames_into(frames[20:40], tmp_path / "frames" / "run2")
        wait_until(lambda: stored_frames(daemon) == 40, "the second run stored after the failure")
        wait_until(lambda: len(failed()) >= 2, "the second run retired, its report failing")
        assert daemon.reports is not None and daemon.reports.failures >= 2
        health = daemon.health()
        assert health.alive and daemon._worker.is_alive()
    finally:
        daemon.stop()
    assert not [r for r in caplog.records if "idle round failed" in r.getMessage()]
