"""The MQTT sink: frames, stage events and alerts under `<base_topic>/<rig>/`, nothing lost while the broker
is away.

publish() only spools (memory, mirrored to disk while disconnected); a sender thread hands the spool to paho
in order whenever the connection is up, and a message leaves the spool only once paho confirms it.
"""

import contextlib
import json
import logging
import math
import threading
import time
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from queue import SimpleQueue
from typing import Any

import paho.mqtt.client as mqtt
from paho.mqtt.enums import CallbackAPIVersion, MQTTErrorCode
from paho.mqtt.reasoncodes import ReasonCode

from monitor import __version__
from monitor.config.alerts import AlertsConfig
from monitor.config.mqtt import MqttConfig
from monitor.records import FrameResult
from monitor.sinks.base import RunContext, SinkHealth
from monitor.sinks.payload import event_document, frame_document
from monitor.sinks.spool import Spool

logger = logging.getLogger(__name__)
paho_logger = logging.getLogger(f"{__name__}.paho")  # paho's own messages, incl. exceptions in callbacks
# paho 2.2 logs "Client is not connected" at ERROR once its loop runs past a clean disconnect(): not an error.
paho_logger.addFilter(lambda record: not record.getMessage().startswith("Client is not connected"))

ONLINE, OFFLINE = "online", "offline"
LEAVES = ("status", "frame", "event", "alert", "feed", "forecast")  # forecast: reserved, not published yet
RECONNECT_MIN_S, RECONNECT_MAX_S = 1, 30
MAX_INFLIGHT = 100  # QoS 1 messages handed to paho and not acknowledged yet: bounds paho's own queue
AUTH_REFUSALS = ("not authori", "bad user name or password")
_TEMPERATURE = {"unit_of_measurement": "°C", "device_class": "temperature", "state_class": "measurement"}
DISCOVERY_SENSORS: dict[str, dict[str, str]] = {
    "t1_c": {"name": "1# temperature", **_TEMPERATURE},
    "t2_c": {"name": "2# temperature", **_TEMPERATURE},
    "stage": {"name": "Stage", "icon": "mdi:fire"},
    "crystal_fraction": {"name": "Crystal fraction", "state_class": "measurement"},
    "mean": {"name": "Image mean", "state_class": "measurement"},
}


def topic(config: MqttConfig, rig: str, leaf: str) -> str:
    """Every topic of the sink is made here: `<base_topic>/<rig>/<leaf>`."""
    return f"{config.base_topic.rstrip('/')}/{rig}/{leaf}"


def discovery_messages(config: MqttConfig, rig: str) -> list[tuple[str, str]]:
    """Home Assistant MQTT discovery: one retained config topic per sensor, all read from the frame topic."""
    device = {"identifiers": [f"furnace-monitor-{rig}"], "name": f"Furnace {rig}", "sw_version": __version__}
    prefix = config.homeassistant.prefix.rstrip("/")
    messages = []
    for key, extra in DISCOVERY_SENSORS.items():
        doc = {
            **extra,
            "unique_id": f"furnace_monitor_{rig}_{key}",
            "state_topic": topic(config, rig, "frame"),
            "value_template": "{{ value_json." + key + " }}",
            "availability_topic": topic(config, rig, "status"),
            "payload_available": ONLINE,
            "payload_not_available": OFFLINE,
            "device": device,
        }
        messages.append((f"{prefix}/sensor/{rig}_{key}/config", json.dumps(doc, ensure_ascii=False)))
    return messages


def _json(doc: dict[str, Any]) -> str:
    # NaN/inf are not JSON: consumers (Home Assistant, JS) would reject the whole message.
    clean = {k: None if isinstance(v, float) and not math.isfinite(v) else v for k, v in doc.items()}
    return json.dumps(clean, ensure_ascii=False, allow_nan=False)


@dataclass(frozen=True, slots=True)
class MqttStats:
    published: int  # confirmed: PUBACK for QoS 1, accepted while connected for QoS 0
    failed: int  # publish attempts paho refused (the message stays spooled and is retried)
    dropped: int  # frames given up because the queue was full
    queued: int  # waiting for delivery, memory + disk


class MqttSink:
    """MQTT output. `stop()` publishes `offline`; a crash leaves it to the broker through the Last Will."""

    name = "mqtt"

    def __init__(
        self, *, config: MqttConfig, alerts: AlertsConfig, rig: str, spool_dir: Path, max_queue: int = 10000
    ) -> None:
        if max_queue < 1:
            raise ValueError(f"max_queue must be at least 1, got {max_queue}")
        self._config = config
        self._alerts = set(alerts.events)
        self._rig = rig
        self._max_queue = max_queue
        self._topics = {leaf: topic(config, rig, leaf) for leaf in LEAVES}
        self._ha_status = f"{config.homeassistant.prefix.rstrip('/')}/status"
        self._where = f"{config.host}:{config.port}"
        self._lock = threading.Lock()  # spool, counters and connection state; never held while calling paho
        self._wake = threading.Event()
        self._halt = threading.Event()
        self._acks: SimpleQueue[int] = SimpleQueue()  # mids from on_publish, matched by the sender thread
        self._inflight: dict[int, int] = {}  # mid -> spool seq (sender thread only)
        self._sending: int | None = None  # seq being handed to paho right now: not to be dropped
        self._published = self._failed = self._dropped = 0
        self._connected = self._stopped = False
        self._down_since = time.time()
        self._last_error = "not connected yet"
        self._refused: str | None = None
        self._sender: threading.Thread | None = None
        self._client = self._make_client()  # before the spool: bad TLS files fail without locking it
        self._spool = Spool(Path(spool_dir) / f"mqtt-{rig}.jsonl")

    def _make_client(self) -> mqtt.Client:
        c = self._config
        client = mqtt.Client(
            CallbackAPIVersion.VERSION2,
            client_id=c.client_id or f"furnace-monitor-{self._rig}",
            protocol=mqtt.MQTTv311,
            clean_session=True,
        )
        client.enable_logger(paho_logger)
        client.suppress_exceptions = True  # a bug in a callback must not kill paho's network thread
        if c.username:
            client.username_pw_set(c.username, c.password.get_secret_value() if c.password else None)
        if c.tls.enabled:
            client.tls_set(
                ca_certs=str(c.tls.ca_file) if c.tls.ca_file else None,
                certfile=str(c.tls.cert_file) if c.tls.cert_file else None,
                keyfile=str(c.tls.key_file) if c.tls.key_file else None,
            )
            client.tls_insecure_set(c.tls.insecure)
        # The will travels in CONNECT, so it must be set before connecting.
        client.will_set(self._topics["status"], OFFLINE, qos=1, retain=True)
        client.reconnect_delay_set(RECONNECT_MIN_S, RECONNECT_MAX_S)
        client.on_connect = self._on_connect
        client.on_connect_fail = self._on_connect_fail
        client.on_disconnect = self._on_disconnect
        client.on_publish = self._on_publish
        client.on_message = self._on_message
        return client

    def start(self) -> None:
        if self._sender is not None or self._stopped:
            return
        if len(self._spool):
            logger.info("mqtt: %d spooled message(s) will be sent first", len(self._spool))
        self._down_since = time.time()
        self._sender = threading.Thread(target=self._run, name="mqtt-sender", daemon=True)
        self._sender.start()
        # connect_async + loop_start: the first connection is retried like any later one, never raised.
        self._client.connect_async(self._config.host, self._config.port, keepalive=self._config.keepalive_s)
        self._client.loop_start()

    def publish(self, context: RunContext, result: FrameResult) -> None:
        """Queue the frame, its events and alerts; never waits for the network."""
        messages = [(self._topics["frame"], _json(frame_document(context, result)), 0)]
        for event in result.events:
            doc = event_document(context, event)
            messages.append((self._topics["event"], _json(doc), 1))
            if event.type in self._alerts:
                messages.append((self._topics["alert"], _json({**doc, "alert": True}), 1))
        with self._lock:
            if self._stopped:
                logger.warning("mqtt: publish after stop, %s not sent", result.file)
                return
            for topic_, payload, qos in messages:
                self._enqueue(topic_, payload, qos)
        self._wake.set()

    def report_feed(self, *, stalled: bool, detail: str) -> None:
        """Retained `feed` state, so a dashboard or an operator sees a stalled camera feed at once."""
        doc = {"rig": self._rig, "stalled": stalled, "detail": detail, "timestamp": time.time()}
        with self._lock:
            if self._stopped:
                return
            self._spool.put(self._topics["feed"], _json(doc), 1, True, durable=True)
        self._wake.set()

    def _enqueue(self, topic_: str, payload: str, qos: int) -> None:
        if len(self._spool) >= self._max_queue:
            victim = self._spool.oldest(qos=0, exclude=self._sending)
            if victim is not None or qos == 0:  # with only events queued, an event still goes in
                self._dropped += 1
                if self._dropped == 1 or self._dropped % 1000 == 0:
                    logger.warning("mqtt: queue full, %d frame(s) dropped so far", self._dropped)
                if victim is None:
                    return  # only events queued: this frame is what gives
                self._spool.remove(victim.seq)
        # Connected: the message leaves within milliseconds, no disk write. Disconnected: write it now, so
        # an outage that outlasts the process loses nothing. Events are always written (rare, important).
        self._spool.put(topic_, payload, qos, False, durable=qos > 0 or not self._connected)

    def stop(self, timeout: float = 5.0) -> None:
        """Deliver what is queued (bounded), publish `offline`, disconnect; the rest stays spooled."""
        if self._stopped:
            return
        if self._sender is not None:
            deadline = time.monotonic() + timeout
            while self._connected and len(self._spool) and time.monotonic() < deadline:
                time.sleep(0.02)  # the sender empties the spool as PUBACKs come in
            self._halt.set()
            self._wake.set()
            self._sender.join(timeout=2.0)
            if self._connected:
                info = self._client.publish(self._topics["status"], OFFLINE, qos=1, retain=True)
                with contextlib.suppress(RuntimeError, ValueError):
                    info.wait_for_publish(timeout=max(0.5, deadline - time.monotonic()))
            self._client.disconnect()
            self._client.loop_stop()
        with self._lock:
            self._stopped, self._connected = True, False
            left = len(self._spool)
            self._spool.close()
        logger.info("mqtt: stopped, %d message(s) left in %s", left, self._spool.path)

    def health(self) -> SinkHealth:
        with self._lock:
            queued, connected, refused = len(self._spool), self._connected, self._refused
        backlog = f", {queued} message(s) queued" if queued else ""
        if connected:
            return SinkHealth(True, f"connected to {self._where}{backlog}", queued)
        if self._stopped or self._sender is None:
            return SinkHealth(False, ("stopped" if self._stopped else "not started") + backlog, queued)
        if refused:
            auth = any(r in refused.lower() for r in AUTH_REFUSALS)
            hint = ": check mqtt.username and its password (FURNACE_MQTT_PASSWORD or mqtt.password_file)"
            detail = f"broker {self._where} refused the connection ({refused}){hint if auth else ''}"
        else:
            since = datetime.fromtimestamp(self._down_since).strftime("%H:%M:%S")
            detail = f"broker {self._where} down since {since} ({self._last_error})"
        return SinkHealth(False, detail + backlog, queued)

    def stats(self) -> MqttStats:
        with self._lock:
            return MqttStats(self._published, self._failed, self._dropped, len(self._spool))

    # --- sender thread -------------------------------------------------------------------------------

    def _run(self) -> None:
        cursor = -1  # last seq handed to paho; QoS 1 messages in flight are paho's to re-send on reconnect
        while not self._halt.is_set():
            self._wake.wait(timeout=1.0)
            self._wake.clear()
            self._collect_acks()
            while self._connected and len(self._inflight) < MAX_INFLIGHT and not self._halt.is_set():
                with self._lock:
                    message = self._spool.next_after(cursor)
                    self._sending = None if message is None else message.seq
                if message is None:
                    break
                info = self._client.publish(
                    message.topic, message.payload, qos=message.qos, retain=message.retain
                )
                # A QoS 1 message refused for want of a connection stays queued in paho (sent on reconnect).
                taken = info.rc == MQTTErrorCode.MQTT_ERR_SUCCESS or (
                    message.qos > 0 and info.rc == MQTTErrorCode.MQTT_ERR_NO_CONN
                )
                with self._lock:
                    self._sending = None
                    if not taken:
                        self._failed += 1  # lost a race with a disconnect: retry from here once reconnected
                        break
                    if message.qos > 0:
                        self._inflight[info.mid] = message.seq
                    else:
                        self._spool.remove(message.seq)
                        self._published += 1
                cursor = message.seq
                self._collect_acks()

    def _collect_acks(self) -> None:
        while not self._acks.empty():  # this thread is the only consumer
            seq = self._inflight.pop(self._acks.get(), None)  # other mids: status, discovery, QoS 0 writes
            if seq is not None:
                with self._lock:
                    self._spool.remove(seq)
                    self._published += 1

    # --- paho callbacks (network thread) -------------------------------------------------------------

    def _on_connect(
        self, client: mqtt.Client, userdata: Any, flags: Any, reason: ReasonCode, *_: Any
    ) -> None:
        if reason.is_failure:
            with self._lock:
                first = self._refused != str(reason)
                self._refused = str(reason)
            if first:
                logger.error("mqtt: broker %s refused the connection: %s", self._where, reason)
            return
        client.publish(self._topics["status"], ONLINE, qos=1, retain=True)
        if self._config.homeassistant.enabled:
            client.subscribe(self._ha_status, qos=1)  # clean session: subscribe again on every connect
            self._publish_discovery(client)
        with self._lock:
            # Only now: the sender must not publish the backlog before `online`.
            self._connected, self._refused = True, None
            queued = len(self._spool)
        logger.info("mqtt: connected to %s, %d message(s) to deliver", self._where, queued)
        self._wake.set()

    def _on_connect_fail(self, client: mqtt.Client, userdata: Any) -> None:
        with self._lock:
            first = self._last_error != "cannot connect"
            self._last_error = "cannot connect"
        if first:
            logger.warning("mqtt: cannot connect to %s, retrying", self._where)

    def _on_disconnect(
        self, client: mqtt.Client, userdata: Any, flags: Any, reason: ReasonCode, *_: Any
    ) -> None:
        with self._lock:
            was_connected, self._connected = self._connected, False
            if was_connected:
                self._down_since = time.time()
                self._last_error = str(reason)
            if not self._stopped:
                self._spool.persist()  # the frames held in memory must survive a long outage too
            queued = len(self._spool)
        if was_connected and not self._halt.is_set():
            logger.warning("mqtt: connection lost (%s), %d message(s) queued; reconnecting", reason, queued)

    def _on_publish(self, client: mqtt.Client, userdata: Any, mid: int, *_: Any) -> None:
        # Called with paho's message lock held: hand the mid over instead of touching the spool here.
        self._acks.put(mid)
        self._wake.set()

    def _on_message(self, client: mqtt.Client, userdata: Any, message: mqtt.MQTTMessage) -> None:
        # Home Assistant announces a restart with `online`: it has forgotten the discovery topics' contents.
        if message.topic == self._ha_status and message.payload.strip() == ONLINE.encode():
            self._publish_discovery(client)

    def _publish_discovery(self, client: mqtt.Client) -> None:
        for config_topic, payload in discovery_messages(self._config, self._rig):
            client.publish(config_topic, payload, qos=1, retain=True)
