"""`furnace-monitor demo`: live first (daemon, private broker, MQTT lines, the alert), then the report, the
training of quick models and their check on the live run."""

from monitor.demo.story import run_demo
from monitor.demo.training import ensure_models

__all__ = ["ensure_models", "run_demo"]
