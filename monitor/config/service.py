"""Local store, HTTP health endpoint and logging."""

from pathlib import Path
from typing import Literal

from pydantic import Field

from monitor.config.base import Section


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
    enabled: bool = Field(True, description="Serve /healthz and /metrics.")
    host: str = Field("127.0.0.1", description="Address to bind.")
    port: int = Field(8765, ge=0, le=65535, description="Port to bind (0 = any free port).")


class LoggingConfig(Section):
    level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = Field("INFO", description="Log level.")
    format: Literal["text", "json"] = Field("text", description="text for a terminal, json for journald.")
