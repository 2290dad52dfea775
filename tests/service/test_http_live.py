"""The live board and the live page's routes, with real records, real frame files and a real store: what the
page is sent (the latest frame, the points it lacks, the events and alert, the pictures), what it may fetch
(only files the board recorded, only stored runs) and the stored runs' tables."""

import http.client
import json
import threading
from collections.abc import Iterator
from pathlib import Path

import cv2
import numpy as np
import pytest

from monitor.config.service import StoreConfig
from monitor.records import (
    EventType,
    FieldRead,
    Forecast,
    FrameResult,
    OverlayReading,
    ProgressBasis,
    ProgressEstimate,
    Stage,
    StageEvent,
)
from monitor.service.http import Health, HealthServer
from monitor.service.live import MAX_POINTS, LiveBoard
from monitor.service.web import LivePage
from monitor.sinks.base import RunContext
from monitor.sinks.store import StoreSink
from tests.first_heads import first_heads

START = EventType.CRYSTALLIZATION_START


def _result(index: int, *, events: tuple[StageEvent, ...] = (), forecast: Path | None = None) -> FrameResult:
    t = 540 + index
    read = OverlayReading(
        time=FieldRead(f"[{t}]", t, 0.99),
        t1=FieldRead(f"1#丝{1060 - index}℃", 1060 - index, 0.98),
        t2=FieldRead("2#丝1148℃", 1148, 0.97),
    )
    prediction = first_heads(
        1050.0 - index, 2.0 * index, Forecast(30.0, 101.5, 4.25, None if forecast is None else str(forecast))
    )
    return FrameResult(
        index=index, file=f"{t:04d}.jpg", time_s=float(t), reading=read, frame_error=None, features=None,
        stage=Stage.CRYSTALLIZING if events else Stage.COOLING, events=events,
        crystal_fraction=0.01 * index, latency_ms=20.0, prediction=prediction,
        progress=ProgressEstimate(2.0 * index, ProgressBasis.IMAGE),
    )  # fmt: skip


@pytest.fixture
def run(tmp_path: Path) -> tuple[RunContext, list[FrameResult]]:
    """Three frames on disk, the third raising the alert, with a forecast frame."""
    folder = tmp_path / "run1"
    folder.mkdir()
    for i in range(3):
        cv2.imwrite(str(folder / f"{540 + i:04d}.jpg"), np.full((48, 64, 3), 40 * i, np.uint8))
    forecast = tmp_path / "forecast.png"
    cv2.imwrite(str(forecast), np.full((32, 32, 3), 200, np.uint8))
    event = StageEvent(START, 541.0, "0541.jpg", 1059.0, 0.9)
    context = RunContext(rig="rig1", run="run1", run_id="run1@0123456789", started_at=1.7e9, folder=folder)
    return context, [_result(0), _result(1), _result(2, events=(event,), forecast=forecast)]


def test_the_board_sends_the_latest_frame_and_only_the_points_a_page_lacks(
    run: tuple[RunContext, list[FrameResult]],
) -> None:
    context, results = run
    board = LiveBoard(alerts=[START])
    assert board.view()["frame"] is None
    for result in results:
        board.record(context, result, None)
    doc = board.view()
    assert doc["version"] == 3 and doc["run"] == {"id": "run1@0123456789", "name": "run1", "rig": "rig1"}
    assert doc["frame"]["time_s"] == 542.0 and doc["frame"]["t1_c"] == 1058.0
    assert doc["frame"]["t1_image_c"] == 1048.0 and doc["frame"]["progress_pct"] == 4.0
    assert doc["overlay"]["t1"]["raw"] == "1#丝1058℃"
    assert [p[1] for p in doc["points"]] == [540.0, 541.0, 542.0] and doc["reset"]
    assert doc["events"] == [
        {"type": "crystallization_start", "time_s": 541.0, "t1_c": 1059.0, "file": "0541.jpg",
         "confidence": 0.9, "alert": True, "snapshot": "/live/snapshot/crystallization_start"}
    ]  # fmt: skip
    assert doc["forecast_image"] is not None
    later = board.view(since=2, run="run1@0123456789")
    assert [p[0] for p in later["points"]] == [3] and not later["reset"]
    other = board.view(since=2, run="run0@ffffffffff")  # the page followed another run: all points again
    assert len(other["points"]) == 3 and other["reset"]
    assert board.image("frame") == context.folder / "0542.jpg"  # type: ignore[operator]
    assert board.image("snapshot/crystallization_start") == context.folder / "0541.jpg"  # type: ignore[operator]
    assert board.image("snapshot/melting_start") is None
    assert board.image("snapshot/../../etc/passwd") is None


def test_curves_are_bounded_and_a_long_poll_wakes_on_a_frame(
    run: tuple[RunContext, list[FrameResult]],
) -> None:
    context, results = run
    board = LiveBoard()
    for _ in range(MAX_POINTS + 5):
        board.record(context, results[0], None)
    assert len(board.view()["points"]) == MAX_POINTS
    version = board.version
    assert board.wait(version, 0.05) == version  # nothing new: back after the timeout
    threading.Timer(0.1, board.record, (context, results[1], None)).start()
    assert board.wait(version, 30.0) == version + 1


@pytest.fixture
def served(run: tuple[RunContext, list[FrameResult]], tmp_path: Path) -> Iterator[tuple[HealthServer, Path]]:
    context, results = run
    store = StoreSink(StoreConfig(path=tmp_path / "store.sqlite"))
    store.open()
    store.write([item.payload for r in results for item in store.encode(context, r)])
    store.close()
    board = LiveBoard(alerts=[START])
    for result in results:
        board.record(context, result, None)
    health = lambda: Health(True, True, ())  # noqa: E731
    page = LivePage(board, health=health, writers=[], store=store.path, detailed=True)
    server = HealthServer("127.0.0.1", 0, health=health, metrics=lambda: b"", routes=page)
    server.start()
    yield server, context.folder  # type: ignore[misc]
    server.stop()


def _get(port: int, path: str) -> tuple[int, str, bytes]:
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    connection.request("GET", path)
    answer = connection.getresponse()
    body = answer.read()
    connection.close()
    return answer.status, answer.getheader("Content-Type", ""), body


def test_the_page_gets_the_pictures_the_board_recorded(served: tuple[HealthServer, Path]) -> None:
    server, folder = served
    assert _get(server.port, "/live/frame?v=3")[2] == (folder / "0542.jpg").read_bytes()
    assert _get(server.port, "/live/snapshot/crystallization_start")[2] == (folder / "0541.jpg").read_bytes()
    status, kind, body = _get(server.port, "/live/forecast")
    assert status == 200 and kind == "image/png" and body.startswith(b"\x89PNG")
    assert _get(server.port, "/live/snapshot/melting_start")[0] == 404
    status, kind, body = _get(server.port, "/api/live?since=2&run=run1@0123456789")
    doc = json.loads(body)
    assert kind == "application/json" and len(doc["points"]) == 1 and doc["health"]["ready"]


def test_the_stored_runs_and_their_tables(served: tuple[HealthServer, Path]) -> None:
    server, _ = served
    runs = json.loads(_get(server.port, "/api/runs")[2])["runs"]
    assert [(r["id"], r["name"], r["frames"]) for r in runs] == [("run1@0123456789", "run1", 3)]
    links = runs[0]["links"]
    status, kind, body = _get(server.port, links["table.csv"])
    lines = body.decode().splitlines()
    assert status == 200 and kind == "text/csv" and len(lines) == 4 and "1058" in lines[-1]
    status, _, body = _get(server.port, links["table.xlsx"])
    assert status == 200 and body.startswith(b"PK")  # an XLSX is a zip
    events = json.loads(_get(server.port, links["events.json"])[2])["events"]
    assert [e["type"] for e in events] == ["crystallization_start"]
    assert _get(server.port, "/runs/run1@0123456789/store.sqlite")[0] == 404
    assert _get(server.port, "/runs/run2/table.csv")[0] == 404
