"""The MQTT sink: frames, stage events, alerts and the feed state under `<base_topic>/<rig>/`.

It encodes each message as an outbox item (topic, payload, QoS, retain); its writer hands batches to paho
and a batch counts as written only when every QoS 1 message in it has its PUBACK. While the broker is away
the items wait in the outbox, on disk. QoS 0 frames (`mqtt.frame_qos: 0`) count as written once paho has
sent them on a live connection: a broker or subscriber that drops one then loses it.
"""

import contextlib
import json
import logging
import math
import threading
import time
from datetime import datetime
from typing import Any

import paho.mqtt.client as mqtt
from paho.mqtt.enums import CallbackAPIVersion, MQTTErrorCode
from paho.mqtt.reasoncodes import ReasonCode

from monitor import __version__
from monitor.config import MonitorConfig
from monitor.config.alerts import AlertsConfig
from monitor.config.mqtt import MqttConfig
from monitor.records import FrameResult
from monitor.sinks.base import Retry, RunContext, Sink
from monitor.sinks.outbox import Item
from monitor.sinks.payload import event_document, frame_document

logger = logging.getLogger(__name__)
paho_logger = logging.getLogger(f"{__name__}.paho")  # paho's own messages, incl. exceptions in callbacks
# paho 2.2 logs "Client is not connected" at ERROR once its loop runs past a clean disconnect(): not an error.
paho_logger.addFilter(lambda record: not record.getMessage().startswith("Client is not connected"))

ONLINE, OFFLINE = "online", "offline"
LEAVES = ("status", "frame", "event", "alert", "feed")
RECONNECT_MIN_S, RECONNECT_MAX_S = 1, 30
ACK_TIMEOUT_S = 10.0  # a batch whose PUBACKs have not all come by then is sent again (same ids)
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


def build_sink(config: MonitorConfig) -> "MqttSink | None":
    if not config.mqtt.enabled:
        return None
    return MqttSink(config=config.mqtt, alerts=config.alerts, rig=config.rig)


class MqttSink(Sink):
    """MQTT output. close() publishes `offline`; a crash leaves it to the broker through the Last Will."""

    name = "mqtt"

    def __init__(self, *, config: MqttConfig, alerts: AlertsConfig, rig: str) -> None:
        self._config = config
        self._alerts = set(alerts.events)
        self._rig = rig
        self._topics = {leaf: topic(config, rig, leaf) for leaf in LEAVES}
        self._ha_status = f"{config.homeassistant.prefix.rstrip('/')}/status"
        self._where = f"{config.host}:{config.port}"
        self._lock = threading.Lock()  # connection state, written by paho's thread
        self._connected = self._opened = False
        self._down_since = time.time()
        self._last_error = "not connected yet"
        self._refused: str | None = None
        self._client = self._make_client()  # bad TLS files fail here, at construction

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
        authenticate(client, c)
        # The will travels in CONNECT, so it must be set before connecting.
        client.will_set(self._topics["status"], OFFLINE, qos=1, retain=True)
        client.reconnect_delay_set(RECONNECT_MIN_S, RECONNECT_MAX_S)
        client.on_connect = self._on_connect
        client.on_connect_fail = self._on_connect_fail
        client.on_disconnect = self._on_disconnect
        client.on_message = self._on_message
        return client

    def open(self) -> None:
        if self._opened:
            return
        self._opened = True
        self._down_since = time.time()
        # connect_async + loop_start: the first connection is retried like any later one, never raised.
        self._client.connect_async(self._config.host, self._config.port, keepalive=self._config.keepalive_s)
        self._client.loop_start()

    def encode(self, context: RunContext, result: FrameResult) -> list[Item]:
        """The frame (droppable when the outbox is full), its events and its alerts (never dropped)."""
        frame_qos = self._config.frame_qos
        items = [self._item("frame", frame_document(context, result), frame_qos, droppable=True)]
        for event in result.events:
            doc = event_document(context, event)
            items.append(self._item("event", doc, 1))
            if event.type in self._alerts:
                items.append(self._item("alert", {**doc, "alert": True}, 1))
        return items

    def encode_feed(self, *, stalled: bool, detail: str) -> list[Item]:
        """Retained `feed` state, so a dashboard or an operator sees a stalled camera feed at once."""
        doc = {"rig": self._rig, "stalled": stalled, "detail": detail, "timestamp": time.time()}
        return [self._item("feed", doc, 1, retain=True)]

    def _item(
        self, leaf: str, doc: dict[str, Any], qos: int, *, retain: bool = False, droppable: bool = False
    ) -> Item:
        message = {"topic": self._topics[leaf], "payload": _json(doc), "qos": qos, "retain": retain}
        return Item(json.dumps(message, ensure_ascii=False), droppable=droppable)

    def write(self, payloads: list[str]) -> None:
        """Publish in order; return when every QoS 1 message is acknowledged, else raise Retry."""
        if not self._connected:
            raise Retry(self.status() or "not connected")
        pending = []
        for payload in payloads:
            m = json.loads(payload)
            info = self._client.publish(m["topic"], m["payload"], qos=m["qos"], retain=m["retain"])
            if info.rc != MQTTErrorCode.MQTT_ERR_SUCCESS:
                raise Retry(f"publish refused: {mqtt.error_string(info.rc)}")
            if m["qos"] > 0:
                pending.append(info)
        deadline = time.monotonic() + ACK_TIMEOUT_S
        for info in pending:
            try:
                info.wait_for_publish(timeout=max(0.0, deadline - time.monotonic()))
            except (RuntimeError, ValueError) as e:  # the connection went while waiting
                raise Retry(f"no acknowledgement: {e}") from e
            if not info.is_published():
                raise Retry(f"no acknowledgement within {ACK_TIMEOUT_S:g} s")

    def close(self) -> None:
        """Publish `offline`, disconnect."""
        if not self._opened:
            return
        if self._connected:
            info = self._client.publish(self._topics["status"], OFFLINE, qos=1, retain=True)
            with contextlib.suppress(RuntimeError, ValueError):
                info.wait_for_publish(timeout=2.0)
        self._client.disconnect()
        self._client.loop_stop()
        with self._lock:
            self._connected, self._opened = False, False

    def status(self) -> str | None:
        with self._lock:
            connected, refused = self._connected, self._refused
        if connected:
            return None
        if not self._opened:
            return "not started"
        if refused:
            auth = any(r in refused.lower() for r in AUTH_REFUSALS)
            hint = ": check mqtt.username and its password (FURNACE_MQTT_PASSWORD or mqtt.password_file)"
            return f"broker {self._where} refused the connection ({refused}){hint if auth else ''}"
        since = datetime.fromtimestamp(self._down_since).strftime("%H:%M:%S")
        return f"broker {self._where} down since {since} ({self._last_error})"

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
            # Only now: the writer must not publish the backlog before `online`.
            self._connected, self._refused = True, None
        logger.info("mqtt: connected to %s", self._where)

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
            opened = self._opened
        if was_connected and opened:
            logger.warning("mqtt: connection lost (%s); reconnecting", reason)

    def _on_message(self, client: mqtt.Client, userdata: Any, message: mqtt.MQTTMessage) -> None:
        # Home Assistant announces a restart with `online`: it has forgotten the discovery topics' contents.
        if message.topic == self._ha_status and message.payload.strip() == ONLINE.encode():
            self._publish_discovery(client)

    def _publish_discovery(self, client: mqtt.Client) -> None:
        for config_topic, payload in discovery_messages(self._config, self._rig):
            client.publish(config_topic, payload, qos=1, retain=True)


def authenticate(client: mqtt.Client, c: MqttConfig) -> None:
    """The broker login and TLS of `mqtt:` on a paho client, the same for the sink and `doctor`."""
    if c.username:
        client.username_pw_set(c.username, c.password.get_secret_value() if c.password else None)
    if c.tls.enabled:
        client.tls_set(
            ca_certs=str(c.tls.ca_file) if c.tls.ca_file else None,
            certfile=str(c.tls.cert_file) if c.tls.cert_file else None,
            keyfile=str(c.tls.key_file) if c.tls.key_file else None,
        )
        client.tls_insecure_set(c.tls.insecure)
