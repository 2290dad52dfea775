"""InfluxSink against a real influxd 1.x: points as written and read back, replays, outages, errors."""

import logging
import math
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from monitor.config.influx import InfluxConfig
from monitor.records import EventType, Features, FieldRead, FrameResult, OverlayReading, Stage, StageEvent
from monitor.sinks.base import RunContext
from monitor.sinks.influx import InfluxSink, event_point, frame_point, line, timestamp_ns
from monitor.sinks.outbox import Item
from tests.services import wait_until
from tests.sinks.conftest import Delivered
from tests.sinks.influx_server import InfluxServer

START = 1_700_000_000.0
# Tag values with a space, a comma and an equals sign: the server has to parse our escaping.
CONTEXT = RunContext(rig="rig 1", run="run,7=a", started_at=START)


def make_frame(index: int, time_s: float, events: tuple[StageEvent, ...] = ()) -> FrameResult:
    def read(value: int) -> FieldRead:
        return FieldRead(raw=str(value), value=value, confidence=0.9)

    t1 = 1000 + index
    reading = OverlayReading(time=read(int(time_s)), t1=read(t1), t2=read(t1 - 10))
    features = Features(
        mean=100.5, mean_b=90.0, mean_g=100.0, mean_r=111.5, probes=((1.0, 2.0, 3.0),),
        change=math.nan, texture=0.1, textured_share=0.25,
    )  # fmt: skip
    return FrameResult(
        index=index, file=f"{int(time_s):04d}.jpg", time_s=time_s, reading=reading, frame_error=None,
        features=features, stage=Stage.HEATING, events=events, crystal_fraction=0.5, latency_ms=12.5,
    )  # fmt: skip


def make_run(n: int, first_s: float = 540.0) -> list[FrameResult]:
    """n frames one second apart; the third one confirms the crystallization start."""
    frames = []
    for i in range(n):
        t = first_s + i
        events = (StageEvent(EventType.CRYSTALLIZATION_START, t - 1, f"{int(t - 1):04d}.jpg", 1052.0),)
        frames.append(make_frame(i, t, events if i == 2 else ()))
    return frames


def v1_config(server: InfluxServer, database: str, **extra: Any) -> InfluxConfig:
    return InfluxConfig(
        enabled=True,
        api="v1",
        url=server.url,
        database=database,
        batch_size=10,
        flush_interval_s=0.1,
        **extra,
    )


@pytest.fixture(scope="module")
def influx(tmp_path_factory: pytest.TempPathFactory) -> Iterator[InfluxServer]:
    with InfluxServer(tmp_path_factory.mktemp("influxd")) as server:
        yield server


@pytest.fixture
def own_influx(tmp_path: Path) -> Iterator[InfluxServer]:
    """A server of the test's own, for tests that take it down."""
    with InfluxServer(tmp_path / "influxd") as server:
        yield server


@pytest.fixture
def database(influx: InfluxServer) -> str:
    name = f"t_{uuid.uuid4().hex[:12]}"
    influx.create_database(name)
    return name


def test_line_protocol_escaping() -> None:
    text = line("m x", {"b": "v 1,=", "a": ""}, {"s": 'say "hi" \\', "n": 2, "bad": math.inf}, 5)
    assert text == r'm\ x,b=v\ 1\,\= s="say \"hi\" \\",n=2.0 5'


def test_point_building() -> None:
    """The contract: measurement, sorted tags, float fields (flagged an integer), timestamp in ns."""
    frame = make_frame(0, 548.0)
    assert frame_point(CONTEXT, frame) == (
        r"furnace_frame,rig=rig\ 1,run=run\,7\=a time_s=548.0,t1_c=1000.0,t2_c=990.0,crystal_fraction=0.5,"
        "latency_ms=12.5,flagged=0i,mean=100.5,mean_b=90.0,mean_g=100.0,mean_r=111.5,textured_share=0.25,"
        "gain=1.0,exposure_step=0.0 1700000548000000000"
    )
    event = StageEvent(EventType.CRYSTALLIZATION_START, 548.0, "0548.jpg", None)
    assert event_point(CONTEXT, event) == (
        r"furnace_event,rig=rig\ 1,run=run\,7\=a,type=crystallization_start time_s=548.0,"
        r'id="rig 1/run,7=a/crystallization_start",file="0548.jpg" 1700000548000000000'
    )
    assert timestamp_ns(START + 0.25) == 1_700_000_000_250_000_000


def influx_sink(config: InfluxConfig, tmp_path: Path, outbox: str = "outbox.sqlite") -> Delivered:
    return Delivered(InfluxSink(config), tmp_path / outbox)


def test_frames_and_events_read_back(influx: InfluxServer, database: str, tmp_path: Path) -> None:
    sink = influx_sink(v1_config(influx, database), tmp_path).start()
    frames = make_run(5)
    for frame in frames:
        sink.publish(CONTEXT, frame)
    wait_until(lambda: sink.stats().written == 6)
    assert sink.stats().queued == 0 and sink.health().ok
    sink.stop()

    rows = influx.rows("SELECT * FROM furnace_frame GROUP BY *", database)
    assert [r["time"] for r in rows] == [timestamp_ns(START + f.time_s) for f in frames]
    assert {(r["rig"], r["run"]) for r in rows} == {("rig 1", "run,7=a")}
    assert [r["t1_c"] for r in rows] == [1000, 1001, 1002, 1003, 1004]
    assert rows[0]["time_s"] == 540 and rows[0]["flagged"] == 0 and rows[0]["mean_r"] == 111.5

    (event,) = influx.rows("SELECT * FROM furnace_event GROUP BY *", database)
    assert event["type"] == "crystallization_start" and event["id"] == "rig 1/run,7=a/crystallization_start"
    assert event["time"] == timestamp_ns(START + 541.0) and event["t1_c"] == 1052


def test_replay_does_not_duplicate(influx: InfluxServer, database: str, tmp_path: Path) -> None:
    for k in range(2):
        sink = influx_sink(v1_config(influx, database), tmp_path, f"outbox{k}.sqlite").start()
        for frame in make_run(12):
            sink.publish(CONTEXT, frame)
        sink.stop()
        assert influx.count("furnace_frame", database) == 12
        assert influx.count("furnace_event", database) == 1


def test_outage_loses_nothing(own_influx: InfluxServer, tmp_path: Path) -> None:
    own_influx.create_database("furnace")
    sink = influx_sink(v1_config(own_influx, "furnace"), tmp_path).start()
    frames = make_run(40)
    for frame in frames[:10]:
        sink.publish(CONTEXT, frame)
    wait_until(lambda: own_influx.count("furnace_frame", "furnace") == 10)

    own_influx.stop()
    for frame in frames[10:]:
        sink.publish(CONTEXT, frame)
    wait_until(lambda: sink.stats().failed > 0)
    health = sink.health()
    assert not health.ok and "cannot reach" in health.detail and health.queued > 0

    own_influx.start()
    wait_until(lambda: sink.stats().queued == 0)
    assert sink.health().ok and sink.stats().written == 41
    sink.stop()
    assert own_influx.count("furnace_frame", "furnace") == 40
    assert own_influx.count("furnace_event", "furnace") == 1


def test_the_outbox_survives_a_sink_restart(own_influx: InfluxServer, tmp_path: Path) -> None:
    own_influx.create_database("furnace")
    config = v1_config(own_influx, "furnace")
    own_influx.stop()
    first = influx_sink(config, tmp_path).start()
    for frame in make_run(20):
        first.publish(CONTEXT, frame)
    first.stop(timeout=0.5)  # the database is down: the points stay on disk
    assert first.writer.written == 0

    own_influx.start()
    second = influx_sink(config, tmp_path)
    assert second.stats().queued == 21
    second.start()
    wait_until(lambda: own_influx.count("furnace_frame", "furnace") == 20)
    wait_until(lambda: second.stats().queued == 0)
    second.stop()
    assert own_influx.count("furnace_event", "furnace") == 1


def test_a_missing_database_is_a_dead_letter_with_the_answer(
    influx: InfluxServer, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.WARNING, logger="monitor.sinks.writer")
    name = f"missing_{uuid.uuid4().hex[:8]}"
    sink = influx_sink(v1_config(influx, name), tmp_path).start()
    sink.publish(CONTEXT, make_frame(0, 540.0))
    sink.publish(CONTEXT, make_frame(1, 541.0))
    wait_until(lambda: sink.stats().rejected == 2)
    assert sink.stats().queued == 0 and not sink.health().ok and "database not found" in sink.health().detail
    logged = [r.message for r in caplog.records if "HTTP 404" in r.message]
    assert len(logged) == 1 and "database not found" in logged[0]  # once, whatever the number of batches
    answers = {a for _, a in sink.outbox.dead_letters("influx")}
    assert len(answers) == 1 and "database not found" in answers.pop()
    sink.stop()


def test_refused_points_are_dead_letters_and_not_retried(
    influx: InfluxServer, database: str, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.WARNING, logger="monitor.sinks.writer")
    sink = influx_sink(v1_config(influx, database), tmp_path)
    sink.outbox.put({"influx": [Item("furnace_frame,rig=x this is not line protocol")]})  # past the encoder
    sink.publish(CONTEXT, make_frame(0, 540.0))
    sink.start()
    wait_until(lambda: sink.stats().rejected == 2)
    assert any("HTTP 400" in r.message and "unable to parse" in r.message for r in caplog.records)
    assert sink.stats().queued == 0 and sink.stats().failed == 1
    assert influx.count("furnace_frame", database) == 1  # 1.x keeps the valid points of a refused batch
    sink.stop()


class _FakeWriteApi:
    def __init__(self, calls: list[dict[str, Any]]) -> None:
        self.calls = calls

    def write(self, **kwargs: Any) -> None:
        self.calls.append(kwargs)


def test_v2_writes_through_influxdb_client(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    import influxdb_client
    from influxdb_client import WritePrecision

    calls: list[dict[str, Any]] = []
    made: dict[str, Any] = {}

    class FakeClient:
        def __init__(self, url: str, token: str, **kwargs: Any) -> None:
            made.update(url=url, token=token, **kwargs)

        def write_api(self, **kwargs: Any) -> _FakeWriteApi:
            return _FakeWriteApi(calls)

        def close(self) -> None:
            made["closed"] = True

    monkeypatch.setattr(influxdb_client, "InfluxDBClient", FakeClient)
    config = InfluxConfig(
        enabled=True, api="v2", url="http://db.example:8086", org="lab", bucket="furnace", token="s3cret",
        batch_size=50, flush_interval_s=0.1,
    )  # fmt: skip
    sink = influx_sink(config, tmp_path).start()
    frames = make_run(3)
    for frame in frames:
        sink.publish(CONTEXT, frame)
    wait_until(lambda: sink.stats().written == 4)
    sink.stop()
    assert made["token"] == "s3cret" and made["org"] == "lab" and made["retries"] is False and made["closed"]
    records = [r for call in calls for r in call["record"]]
    event = event_point(CONTEXT, frames[2].events[0])
    assert records == [*(frame_point(CONTEXT, f) for f in frames), event]  # the frame first, then its events
    assert all(c["bucket"] == "furnace" and c["org"] == "lab" for c in calls)
    assert all(c["write_precision"] == WritePrecision.NS for c in calls)


def test_v2_against_a_1x_server_fails_loudly(
    influx: InfluxServer, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.WARNING, logger="monitor.sinks.writer")
    config = InfluxConfig(
        enabled=True, api="v2", url=influx.url, org="lab", bucket="furnace", token="t", flush_interval_s=0.1
    )
    sink = influx_sink(config, tmp_path).start()
    sink.publish(CONTEXT, make_frame(0, 540.0))
    wait_until(lambda: sink.stats().rejected == 1)
    assert any("HTTP 404" in r.message and "404 page not found" in r.message for r in caplog.records)
    health = sink.health()
    assert not health.ok and "refused" in health.detail and sink.stats().written == 0
    sink.stop()


def test_a_batch_over_the_servers_body_limit_is_sent_in_halves(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.ERROR, logger="monitor.sinks.writer")
    frames = make_run(12)
    points = [frame_point(CONTEXT, f) for f in frames]
    limit = len("\n".join(points[:6]).encode())  # a batch of 10 is refused with 413, 5 go through
    with InfluxServer(tmp_path / "influxd", max_body_bytes=limit) as server:
        server.create_database("furnace")
        sink = influx_sink(v1_config(server, "furnace"), tmp_path)
        for frame in frames:
            sink.publish(CONTEXT, frame)
        sink.start()
        wait_until(lambda: sink.stats().queued == 0, "the outbox to empty")
        assert server.count("furnace_frame", "furnace") == 12
        assert server.count("furnace_event", "furnace") == 1
        stats = sink.stats()
        assert stats.written == 13 and stats.failed >= 1 and stats.rejected == 0 and sink.health().ok
        too_large = [r.message for r in caplog.records if "too large" in r.message]
        assert too_large and all("HTTP 413" in m for m in too_large)
        assert too_large[0].startswith("influx: a batch of 10 was too large")
        sink.stop()
