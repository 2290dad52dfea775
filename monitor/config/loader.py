"""Read a YAML config (bounded, see yaml_source), bring secrets in from the environment or files, validate,
report errors by key path without echoing long or secret values."""

import difflib
import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ValidationError

from monitor.config.errors import ConfigError, FieldError, shown
from monitor.config.root import MonitorConfig
from monitor.config.validators import SECRET_IN_VALUE
from monitor.config.yaml_source import read_yaml


@dataclass(frozen=True, slots=True)
class Secret:
    """A secret field: where it lives in the tree, its env variable and the key naming its file."""

    section: str
    key: str
    env: str
    file_key: str


SECRETS = (
    Secret("mqtt", "password", "FURNACE_MQTT_PASSWORD", "password_file"),
    Secret("influx", "token", "FURNACE_INFLUX_TOKEN", "token_file"),
    Secret("http", "token", "FURNACE_HTTP_TOKEN", "token_file"),
)


def load_config(path: Path | None, env: Mapping[str, str] | None = None) -> MonitorConfig:
    """Load and validate a config file (None = defaults only); raise ConfigError listing every problem."""
    source = str(path) if path else "<defaults>"
    data = read_yaml(path) if path else {}
    return parse_config(data, env=os.environ if env is None else env, source=source)


def parse_config(data: Any, *, env: Mapping[str, str], source: str = "<config>") -> MonitorConfig:
    """Validate an already-parsed YAML document."""
    if data is None:
        data = {}
    if not isinstance(data, dict):
        raise ConfigError(source, [FieldError("<root>", f"expected a mapping, got {type(data).__name__}")])
    errors: list[FieldError] = []
    data = _with_secrets(data, env, errors)
    try:
        config = MonitorConfig.model_validate(data)
    except ValidationError as exc:
        errors.extend(_field_errors(exc))
    if errors:
        raise ConfigError(source, errors)
    return config


def _with_secrets(data: dict[str, Any], env: Mapping[str, str], errors: list[FieldError]) -> dict[str, Any]:
    """Secrets come from the environment or a file named in the config, never inline."""
    data = dict(data)
    for secret in SECRETS:
        section = data.get(secret.section)
        if section is not None and not isinstance(section, dict):
            continue  # validation reports the wrong type
        section = dict(section or {})
        if secret.key in section:
            errors.append(
                FieldError(
                    f"{secret.section}.{secret.key}",
                    f"secrets are not read from the config file; set {secret.env} "
                    f"or {secret.section}.{secret.file_key}",
                )
            )
            del section[secret.key]
        value = env.get(secret.env)
        file_name = section.get(secret.file_key)
        if value is None and file_name:
            try:
                value = Path(file_name).read_text(encoding="utf-8").strip()
            except OSError as exc:
                errors.append(
                    FieldError(
                        f"{secret.section}.{secret.file_key}", f"cannot read {file_name}: {exc.strerror}"
                    )
                )
        if value is not None:
            section[secret.key] = value
        if section or secret.section in data:
            data[secret.section] = section
    return data


def _field_errors(exc: ValidationError) -> list[FieldError]:
    errors = []
    for err in exc.errors(include_url=False):
        path = ".".join(str(p) for p in err["loc"]) or "<root>"
        if err["type"] == "extra_forbidden":
            message = "unknown key" + _suggestion(err["loc"])
        else:
            message = err["msg"].removeprefix("Value error, ")
            if err["type"] not in ("missing", SECRET_IN_VALUE) and err.get("input") is not None:
                message += f" (got {shown(err['input'])})"
        errors.append(FieldError(path, message))
    return errors


def _suggestion(loc: tuple[int | str, ...]) -> str:
    """' (did you mean X?)' for a misspelt key, from the keys its section knows."""
    model: type[BaseModel] | None = MonitorConfig
    for part in loc[:-1]:
        field = model.model_fields.get(str(part)) if model else None
        annotation = field.annotation if field else None
        model = annotation if isinstance(annotation, type) and issubclass(annotation, BaseModel) else None
    if model is None:
        return ""
    close = difflib.get_close_matches(str(loc[-1]), list(model.model_fields), n=1)
    return f" (did you mean {close[0]!r}?)" if close else ""
