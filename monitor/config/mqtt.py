"""The MQTT output: broker, credentials, TLS, topics."""

from pathlib import Path
from typing import Literal

from pydantic import Field, SecretStr, ValidationInfo, field_validator

from monitor.config.base import Section
from monitor.config.validators import BrokerHost, TopicPrefix


class TlsConfig(Section):
    enabled: bool = Field(False, description="Connect with TLS.")
    ca_file: Path | None = Field(None, description="CA bundle; null = the system's.")
    cert_file: Path | None = Field(None, description="Client certificate for mutual TLS.")
    key_file: Path | None = Field(None, description="Client key for mutual TLS.")
    insecure: bool = Field(False, description="Skip the host-name check (test brokers only).")


class HomeAssistantConfig(Section):
    enabled: bool = Field(False, description="Publish Home Assistant discovery config topics.")
    prefix: TopicPrefix = Field(
        "homeassistant", min_length=1, description="Home Assistant's discovery prefix (an MQTT topic)."
    )


class MqttConfig(Section):
    enabled: bool = Field(True, description="Publish to MQTT.")
    host: BrokerHost = Field("localhost", min_length=1, description="Broker host name or address.")
    port: int = Field(1883, ge=1, le=65535, description="Broker port.")
    base_topic: TopicPrefix = Field(
        "furnace", min_length=1, description="Topics are <base_topic>/<rig>/... (no wildcard + #, no '$')."
    )
    client_id: str | None = Field(None, description="MQTT client id; null = furnace-monitor-<rig>.")
    username: str | None = Field(None, description="User name; its password comes from the environment.")
    password_file: Path | None = Field(
        None, description="File holding the password (FURNACE_MQTT_PASSWORD takes precedence)."
    )
    password: SecretStr | None = Field(
        None,
        exclude=True,
        validate_default=True,
        description="Filled from FURNACE_MQTT_PASSWORD or password_file, never from YAML.",
    )
    keepalive_s: int = Field(30, ge=5, le=3600, description="MQTT keep-alive, seconds.")
    frame_qos: Literal[0, 1] = Field(
        1,
        description="QoS of the frame messages. 1: a frame counts as sent once the broker acknowledged it. "
        "0: once it left on a live connection, so a broker restart can lose the last few. Events, alerts, "
        "status and feed are always QoS 1.",
    )
    tls: TlsConfig = Field(default_factory=TlsConfig)
    homeassistant: HomeAssistantConfig = Field(default_factory=HomeAssistantConfig)

    @field_validator("password")
    @classmethod
    def _password_for_user(cls, value: SecretStr | None, info: ValidationInfo) -> SecretStr | None:
        user = info.data.get("username")
        if info.data.get("enabled") and user and value is None:
            raise ValueError(
                f"username {user!r} is set but no password was found: "
                "set FURNACE_MQTT_PASSWORD or mqtt.password_file"
            )
        return value
