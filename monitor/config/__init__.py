"""Typed configuration: one Pydantic model per section, loaded from YAML with secrets from the environment."""

from monitor.config.errors import ConfigError, FieldError, StartupError
from monitor.config.loader import load_config, parse_config
from monitor.config.root import MonitorConfig

__all__ = ["ConfigError", "FieldError", "MonitorConfig", "StartupError", "load_config", "parse_config"]
