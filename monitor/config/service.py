"""Local store, HTTP health endpoint and logging."""

from pathlib import Path
from typing import Literal

from pydantic import Field, SecretStr, ValidationInfo, field_validator

from monitor.config.base import Section

LOOPBACK_NAMES = ("localhost", "::1")
TOKEN_ENV = "FURNACE_HTTP_TOKEN"


def is_loopback(host: str) -> bool:
    """A bind address only this machine can reach: 127.0.0.0/8, ::1 or localhost."""
    return host.lower() in LOOPBACK_NAMES or host.startswith("127.")


class StoreConfig(Section):
    enabled: bool = Field(True, description="Keep runs, frames and events in a local SQLite file.")
    path: Path = Field(Path("/var/lib/furnace-monitor/furnace.sqlite"), description="The SQLite file.")
    retention_days: float | None = Field(
        None,
        gt=0,
        le=36_500,
        description="Runs whose last frame is older than this are deleted from the store (checked on start "
        "and hourly); null = keep everything.",
    )


class OutboxConfig(Section):
    path: Path = Field(
        Path("/var/lib/furnace-monitor/outbox.sqlite"),
        description="What the sinks have not delivered yet (SQLite): kept across restarts and outages.",
    )
    max_items: int = Field(
        500_000,
        ge=100,
        le=100_000_000,
        description="Items waiting per sink, at most; beyond, the oldest frames are dropped (events never).",
    )


class HttpConfig(Section):
    enabled: bool = Field(True, description="Serve the live page (/), /healthz and /metrics.")
    host: str = Field(
        "127.0.0.1", min_length=1, description="Address to bind; beyond loopback a token is required."
    )
    port: int = Field(8765, ge=0, le=65535, description="Port to bind (0 = any free port).")
    token_file: Path | None = Field(
        None, description="File holding the access token (FURNACE_HTTP_TOKEN takes precedence)."
    )
    token: SecretStr | None = Field(
        None,
        exclude=True,
        validate_default=True,
        description="Filled from FURNACE_HTTP_TOKEN or token_file, never from YAML. When set, every path "
        "but /healthz asks for it.",
    )
    max_connections: int = Field(
        32, ge=1, le=1024, description="Connections served at once; beyond, a request is answered 503."
    )
    timeout_s: float = Field(
        10.0, gt=0, le=300, description="A client silent this long on a connection is dropped."
    )

    @field_validator("token")
    @classmethod
    def _token_beyond_loopback(cls, value: SecretStr | None, info: ValidationInfo) -> SecretStr | None:
        host = info.data.get("host")
        if info.data.get("enabled") and host and not is_loopback(host) and value is None:
            raise ValueError(f"http.host {host} is beyond loopback: set {TOKEN_ENV} or http.token_file")
        if value is not None and not value.get_secret_value():
            raise ValueError("the HTTP token is empty")  # only an empty one: an error never echoes a token
        return value


class LoggingConfig(Section):
    level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = Field("INFO", description="Log level.")
    format: Literal["text", "json"] = Field("text", description="text for a terminal, json for journald.")
