"""The InfluxDB output: 2.x/3.x through influxdb-client, 1.x through its /write endpoint."""

from pathlib import Path
from typing import Literal

from pydantic import Field, SecretStr, ValidationInfo, field_validator

from monitor.config.base import Section
from monitor.config.validators import InfluxUrl

# Which keys each API needs when the output is enabled.
_REQUIRED = {"v2": ("org", "bucket"), "v1": ("database",)}


class InfluxConfig(Section):
    enabled: bool = Field(False, description="Write to InfluxDB.")
    url: InfluxUrl = Field(
        "http://localhost:8086", pattern=r"^https?://", description="Server URL, without user:password@."
    )
    api: Literal["v2", "v1"] = Field("v2", description="v2 = InfluxDB 2.x/3.x API; v1 = the 1.x /write API.")
    org: str | None = Field(None, validate_default=True, description="v2: organisation.")
    bucket: str | None = Field(None, validate_default=True, description="v2: bucket.")
    database: str | None = Field(None, validate_default=True, description="v1: database.")
    username: str | None = Field(None, description="v1: user name (its password is the secret).")
    token_file: Path | None = Field(
        None, description="File holding the token (v2) or password (v1); FURNACE_INFLUX_TOKEN wins."
    )
    token: SecretStr | None = Field(
        None,
        exclude=True,
        validate_default=True,
        description="Filled from FURNACE_INFLUX_TOKEN or token_file, never from YAML.",
    )
    batch_size: int = Field(100, ge=1, le=100_000, description="Points per write.")
    flush_interval_s: float = Field(1.0, gt=0, le=300, description="Longest a point waits before a write.")

    @field_validator("org", "bucket", "database")
    @classmethod
    def _needed_by_api(cls, value: str | None, info: ValidationInfo) -> str | None:
        api = info.data.get("api")
        if info.data.get("enabled") and api and info.field_name in _REQUIRED[api] and not value:
            raise ValueError(f"required when api is {api}")
        return value

    @field_validator("token")
    @classmethod
    def _secret_present(cls, value: SecretStr | None, info: ValidationInfo) -> SecretStr | None:
        if not info.data.get("enabled") or value is not None:
            return value
        if info.data.get("api") == "v2":
            raise ValueError("api v2 needs a token: set FURNACE_INFLUX_TOKEN or influx.token_file")
        user = info.data.get("username")
        if user:
            raise ValueError(
                f"username {user!r} is set but no password was found: "
                "set FURNACE_INFLUX_TOKEN or influx.token_file"
            )
        return value
