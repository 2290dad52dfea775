"""Typed configuration: one Pydantic model per section, loaded from YAML with secrets from the environment."""

from monitor.config.loader import ConfigError, FieldError, load_config, parse_config
from monitor.config.root import MonitorConfig

__all__ = ["ConfigError", "FieldError", "MonitorConfig", "load_config", "parse_config"]
