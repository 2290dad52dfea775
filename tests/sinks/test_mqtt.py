"""MqttSink behind its outbox and writer, against a real mosquitto: status and Last Will, payloads, QoS,
outages, restarts, the outbox bound, Home Assistant discovery and credentials. Waits are bounded polls."""

import json
import os
import signal
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path

import paho.mqtt.client as mqtt
import pytest
from paho.mqtt.enums import CallbackAPIVersion
from pydantic import SecretStr

from monitor.config.alerts import AlertsConfig
from monitor.config.mqtt import HomeAssistantConfig, MqttConfig, TlsConfig
from monitor.records import EventType, Features, FieldRead, FrameResult, OverlayReading, Stage, StageEvent
from monitor.sinks.base import RunContext
from monitor.sinks.mqtt import MqttSink
from monitor.sinks.outbox import Outbox
from monitor.sinks.payload import frame_document
from tests.services import wait_until
from tests.sinks.conftest import Delivered, Mosquitto

REPO = Path(__file__).resolve().parents[2]
WAIT_S = 20.0


def run_context(rig: str) -> RunContext:
    return RunContext(rig=rig, run="run1", started_at=1_700_000_000.0)


def frame(index: int, *, events: tuple[EventType, ...] = (), readable: bool = True) -> FrameResult:
    file = f"{540 + index:04d}.jpg"
    reading = None
    if readable:
        reading = OverlayReading(
            time=FieldRead(raw=str(540 + index), value=540 + index, confidence=0.99),
            t1=FieldRead(raw="1052", value=1052, confidence=0.98),
            t2=FieldRead(raw="10S2", value=None, confidence=0.4, error="not a number"),
        )
    features = Features(
        mean=101.5, mean_b=90.0, mean_g=100.0, mean_r=114.5, probes=((1.0, 2.0, 3.0),),
        change=float("nan"), texture=0.1, textured_share=0.25,
    )  # fmt: skip
    return FrameResult(
        index=index,
        file=file,
        time_s=540.0 + index,
        reading=reading,
        frame_error=None if readable else "cannot decode",
        features=features if readable else None,
        stage=Stage.COOLING,
        events=tuple(StageEvent(t, 540.0 + index, file, 1052.0) for t in events),
        crystal_fraction=0.1 * index,
        latency_ms=12.345,
    )


class Listener:
    """A real paho subscriber collecting everything it receives on `topics`."""

    def __init__(
        self,
        broker: Mosquitto,
        topics: list[str],
        *,
        client_id: str | None = None,
        persistent: bool = False,
        auth: tuple[str, str] | None = None,
    ) -> None:
        self.messages: list[mqtt.MQTTMessage] = []
        self._lock = threading.Lock()
        self._subscribed = threading.Event()
        self._client = mqtt.Client(
            CallbackAPIVersion.VERSION2,
            client_id=client_id or f"listener-{uuid.uuid4().hex[:8]}",
            clean_session=not persistent,
        )
        if auth:
            self._client.username_pw_set(*auth)
        self._client.on_connect = lambda c, *_: c.subscribe([(t, 1) for t in topics])
        self._client.on_subscribe = lambda *_: self._subscribed.set()
        self._client.on_message = self._on_message
        self._client.reconnect_delay_set(1, 1)
        self._client.connect(broker.host, broker.port, keepalive=10)
        self._client.loop_start()
        assert self._subscribed.wait(WAIT_S), "listener did not subscribe"

    def _on_message(self, client: mqtt.Client, userdata: object, message: mqtt.MQTTMessage) -> None:
        with self._lock:
            self.messages.append(message)

    def on(self, suffix: str) -> list[mqtt.MQTTMessage]:
        with self._lock:
            return [m for m in self.messages if m.topic.endswith(suffix)]

    def payloads(self, suffix: str) -> list[str]:
        return [m.payload.decode() for m in self.on(suffix)]

    def docs(self, suffix: str) -> list[dict]:
        return [json.loads(p) for p in self.payloads(suffix)]

    def wait_for(self, suffix: str, count: int) -> list[mqtt.MQTTMessage]:
        wait_until(lambda: len(self.on(suffix)) >= count, f"{count} message(s) on *{suffix}", WAIT_S)
        return self.on(suffix)

    def close(self) -> None:
        self._client.disconnect()
        self._client.loop_stop()


@pytest.fixture
def make_sink(tmp_path: Path) -> Iterator[Callable[..., Delivered]]:
    """Sinks on a broker, each behind an outbox (in tmp_path unless given); all stopped after the test."""
    sinks: list[Delivered] = []

    def make(
        broker: Mosquitto, rig: str, *, outbox: Path | None = None, max_items: int = 10000, **config: object
    ) -> Delivered:
        sink = MqttSink(
            config=MqttConfig(**{"host": broker.host, "port": broker.port, **config}),
            alerts=AlertsConfig(),
            rig=rig,
        )
        delivered = Delivered(sink, outbox or tmp_path / f"outbox-{rig}.sqlite", max_items=max_items)
        sinks.append(delivered)
        return delivered

    yield make
    for sink in sinks:
        sink.stop(timeout=1.0)


def started(sink: Delivered) -> Delivered:
    sink.start()
    wait_until(lambda: sink.health().ok, "the sink to connect")
    return sink


def retained_status(broker: Mosquitto, rig: str) -> str | None:
    """What a new subscriber gets on the status topic as the retained message; None if the first message
    came live (retain unset: it was still going out when the subscriber came, as a clean-clone CI run raced
    it once), so that a waiting caller asks again."""
    listener = Listener(broker, [f"furnace/{rig}/status"])
    try:
        message = listener.wait_for("/status", 1)[0]
        return message.payload.decode() if message.retain else None
    finally:
        listener.close()


def test_status_online_after_start_offline_after_stop(mosquitto: Mosquitto, make_sink) -> None:
    sink = started(make_sink(mosquitto, "statusrig"))
    wait_until(lambda: retained_status(mosquitto, "statusrig") == "online", "retained online")
    sink.stop()
    assert retained_status(mosquitto, "statusrig") == "offline"
    assert not sink.health().ok


def test_last_will_offline_when_the_process_dies(mosquitto: Mosquitto, tmp_path: Path) -> None:
    code = (
        "import time; from pathlib import Path\n"
        "from monitor.config.alerts import AlertsConfig\n"
        "from monitor.config.mqtt import MqttConfig\n"
        "from monitor.sinks.mqtt import MqttSink\n"
        f"config = MqttConfig(host='127.0.0.1', port={mosquitto.port})\n"
        "sink = MqttSink(config=config, alerts=AlertsConfig(), rig='willrig')\n"
        "sink.open()\n"
        "time.sleep(120)\n"
    )
    listener = Listener(mosquitto, ["furnace/willrig/status"])
    process = subprocess.Popen([sys.executable, "-c", code], cwd=REPO)
    try:
        wait_until(lambda: "online" in listener.payloads("/status") or process.poll() is not None, "online")
        assert process.poll() is None, "the sink process exited"
        os.kill(process.pid, signal.SIGKILL)  # no stop(), no DISCONNECT: only the broker's Last Will is left
        process.wait(timeout=10)
    finally:
        if process.poll() is None:
            process.kill()
        listener.close()
    assert retained_status(mosquitto, "willrig") == "offline"


def test_frames_events_and_alerts(mosquitto: Mosquitto, make_sink) -> None:
    listener = Listener(mosquitto, ["furnace/payrig/#"])
    sink = started(make_sink(mosquitto, "payrig"))
    context = run_context("payrig")
    results = [
        frame(0),
        frame(1, events=(EventType.MELTING_START,), readable=False),
        frame(2, events=(EventType.CRYSTALLIZATION_START,)),
    ]
    for result in results:
        sink.publish(context, result)

    frames = listener.wait_for("/frame", 3)
    events = listener.wait_for("/event", 2)
    alerts = listener.wait_for("/alert", 1)
    docs = [json.loads(m.payload) for m in frames]
    assert [set(d) for d in docs] == [set(frame_document(context, r)) for r in results]
    assert [d["id"] for d in docs] == ["payrig/run1/0540.jpg", "payrig/run1/0541.jpg", "payrig/run1/0542.jpg"]
    assert docs[0]["t1_c"] == 1052.0 and docs[0]["t2_c"] is None and docs[0]["stage"] == "cooling"
    assert docs[0]["flags"] == ["t2: not a number"] and docs[1]["flags"] == ["frame: cannot decode"]
    assert docs[0]["timestamp"] == 1_700_000_000.0 + 540.0
    assert all(m.qos == 1 for m in frames)  # frames are QoS 1 unless mqtt.frame_qos says 0

    event_docs = [json.loads(m.payload) for m in events]
    assert [d["id"] for d in event_docs] == ["payrig/run1/melting_start", "payrig/run1/crystallization_start"]
    assert all(m.qos == 1 for m in events)
    alert = json.loads(alerts[0].payload)
    assert alert["type"] == "crystallization_start" and alert["alert"] is True
    assert alert["id"] == "payrig/run1/crystallization_start" and alerts[0].qos == 1
    time.sleep(0.3)  # a melting_start alert would have arrived with the rest
    assert len(listener.on("/alert")) == 1
    wait_until(lambda: sink.stats().written == 6, "6 acknowledged messages")
    assert sink.stats().queued == 0
    listener.close()


def test_frames_at_qos_0(mosquitto: Mosquitto, make_sink) -> None:
    listener = Listener(mosquitto, ["furnace/q0rig/#"])
    sink = started(make_sink(mosquitto, "q0rig", frame_qos=0))
    sink.publish(run_context("q0rig"), frame(0, events=(EventType.CRYSTALLIZATION_START,)))
    assert listener.wait_for("/frame", 1)[0].qos == 0
    assert listener.wait_for("/alert", 1)[0].qos == 1  # events and alerts stay QoS 1


def test_broker_outage_loses_nothing_and_keeps_order(mosquitto_factory, make_sink) -> None:
    broker: Mosquitto = mosquitto_factory(persistent=True)  # the listener's session survives the restart
    listener = Listener(broker, ["furnace/outrig/frame", "furnace/outrig/event"], persistent=True)
    sink = started(make_sink(broker, "outrig"))
    context = run_context("outrig")

    broker.stop()
    wait_until(lambda: not sink.health().ok, "the sink to notice the outage")
    assert "down since" in sink.health().detail
    for i in range(20):
        sink.publish(context, frame(i, events=(EventType.MELTING_START,) if i == 9 else ()))
    assert sink.health().queued == 21
    broker.start()

    wait_until(lambda: len(listener.on("/frame")) + len(listener.on("/event")) >= 21, "21 messages")
    received = [json.loads(m.payload)["id"] for m in listener.messages]
    expected = [f"outrig/run1/{540 + i:04d}.jpg" for i in range(20)]
    expected.insert(10, "outrig/run1/melting_start")
    assert received == expected
    wait_until(lambda: sink.health().ok and sink.health().queued == 0, "an empty queue")
    listener.close()


def test_the_outbox_survives_a_sink_restart(mosquitto: Mosquitto, make_sink, tmp_path: Path) -> None:
    outbox = tmp_path / "restart-outbox.sqlite"
    first = started(make_sink(mosquitto, "spoolrig", outbox=outbox))
    mosquitto.stop()
    wait_until(lambda: not first.health().ok, "the outage")
    context = run_context("spoolrig")
    for i in range(5):
        first.publish(context, frame(i, events=(EventType.CRYSTALLIZATION_START,) if i == 4 else ()))
    first.stop(timeout=0.5)
    reopened = Outbox(outbox)
    assert reopened.queued("mqtt") == 7
    reopened.close()

    mosquitto.start()
    listener = Listener(mosquitto, ["furnace/spoolrig/+"])
    second = started(make_sink(mosquitto, "spoolrig", outbox=outbox))
    wait_until(lambda: len(listener.on("/alert")) == 1, "the spooled alert")
    data = [m for m in listener.messages if not m.topic.endswith("/status")]
    assert [(m.topic.rsplit("/", 1)[1], json.loads(m.payload)["id"]) for m in data] == [
        *[("frame", f"spoolrig/run1/{540 + i:04d}.jpg") for i in range(5)],
        ("event", "spoolrig/run1/crystallization_start"),
        ("alert", "spoolrig/run1/crystallization_start"),
    ]
    wait_until(lambda: second.health().queued == 0, "an empty outbox")
    second.stop()
    reopened = Outbox(outbox)
    assert reopened.queued("mqtt") == 0 and reopened.counter("mqtt", "delivered") == 7
    reopened.close()
    listener.close()


def test_queue_bound_drops_oldest_frames_never_events(mosquitto: Mosquitto, make_sink) -> None:
    sink = make_sink(mosquitto, "boundrig", max_items=5)
    context = run_context("boundrig")
    # Not started: as good as a broker outage, everything queues.
    sink.publish(context, frame(0, events=(EventType.MELTING_START,)))  # frame + event
    for i in range(1, 10):
        sink.publish(context, frame(i))
    sink.publish(context, frame(10, events=(EventType.CRYSTALLIZATION_START,)))  # frame + event + alert
    for i in range(11, 20):
        sink.publish(context, frame(i))
    stats = sink.stats()
    assert stats.queued == 5 and stats.dropped == 23 - 5

    listener = Listener(mosquitto, ["furnace/boundrig/+"])
    started(sink)
    wait_until(lambda: sink.stats().queued == 0, "the backlog to drain")
    listener.wait_for("/frame", 2)
    data = [m for m in listener.messages if not m.topic.endswith("/status")]
    assert [json.loads(m.payload)["id"] for m in data] == [
        "boundrig/run1/melting_start",
        "boundrig/run1/crystallization_start",
        "boundrig/run1/crystallization_start",
        "boundrig/run1/0558.jpg",
        "boundrig/run1/0559.jpg",
    ]
    listener.close()


def test_events_alone_exceed_the_bound(tmp_path: Path, mosquitto: Mosquitto, make_sink) -> None:
    sink = make_sink(mosquitto, "eventrig", max_items=2)
    for i in range(4):
        sink.publish(run_context("eventrig"), frame(i, events=(EventType.MELTING_START,)))
    assert sink.stats().queued == 4  # the four events, every frame gave way
    assert sink.stats().dropped == 4


def test_home_assistant_discovery(mosquitto: Mosquitto, make_sink) -> None:
    # Seen published first: a subscriber that came while they were still going out would get them live, not
    # retained (the sink is connected before it has sent them; a clean-clone CI run once raced it).
    early = Listener(mosquitto, ["homeassistant/sensor/+/config"])
    started(make_sink(mosquitto, "harig", homeassistant=HomeAssistantConfig(enabled=True)))
    early.wait_for("/config", 5)
    early.close()
    keys = ["t1_c", "t2_c", "stage", "crystal_fraction", "mean"]
    late = Listener(mosquitto, ["homeassistant/sensor/+/config"])  # subscribes after they were published
    configs = late.wait_for("/config", 5)
    assert all(m.retain for m in configs)
    assert sorted(m.topic for m in configs) == sorted(f"homeassistant/sensor/harig_{k}/config" for k in keys)
    docs = {m.topic.split("/")[2]: json.loads(m.payload) for m in configs}
    t1 = docs["harig_t1_c"]
    assert t1["state_topic"] == "furnace/harig/frame"
    assert t1["value_template"] == "{{ value_json.t1_c }}"
    assert t1["availability_topic"] == "furnace/harig/status"
    assert t1["device"]["identifiers"] == ["furnace-monitor-harig"]
    assert len({d["unique_id"] for d in docs.values()}) == 5

    # Home Assistant restarted: it says `online` and gets the configs again.
    before = len(late.on("/config"))
    mqtt_publish = mqtt.Client(CallbackAPIVersion.VERSION2)
    mqtt_publish.connect(mosquitto.host, mosquitto.port)
    mqtt_publish.loop_start()
    mqtt_publish.publish("homeassistant/status", "online", qos=1).wait_for_publish(5)
    late.wait_for("/config", before + 5)
    mqtt_publish.disconnect()
    mqtt_publish.loop_stop()
    late.close()


def test_username_and_password(mosquitto_factory, make_sink) -> None:
    broker: Mosquitto = mosquitto_factory(users={"furnace": "s3cret"})
    listener = Listener(broker, ["furnace/authrig/frame"], auth=("furnace", "s3cret"))
    good = started(make_sink(broker, "authrig", username="furnace", password=SecretStr("s3cret")))
    good.publish(run_context("authrig"), frame(0))
    assert json.loads(listener.wait_for("/frame", 1)[0].payload)["id"] == "authrig/run1/0540.jpg"

    bad = make_sink(broker, "badrig", username="furnace", password=SecretStr("wrong"))
    bad.start()
    wait_until(lambda: "refused" in bad.health().detail, "the refusal")
    health = bad.health()
    assert not health.ok
    assert "Not authorized" in health.detail and "password" in health.detail
    assert good.health().ok
    listener.close()


def test_tls_with_a_private_ca(mosquitto_factory, make_sink) -> None:
    broker: Mosquitto = mosquitto_factory(tls=True)
    listener = Listener(broker, ["furnace/tlsrig/frame"])  # on the plain listener
    tls = TlsConfig(enabled=True, ca_file=broker.ca_file)
    sink = started(make_sink(broker, "tlsrig", port=broker.tls_port, tls=tls))
    sink.publish(run_context("tlsrig"), frame(0))
    assert json.loads(listener.wait_for("/frame", 1)[0].payload)["id"] == "tlsrig/run1/0540.jpg"
    listener.close()
