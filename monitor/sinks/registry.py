"""The sinks a config enables, found by name: every module of this package with a `build_sink(config)`
function is one (it returns its Sink, or None when its section leaves it off). A new output is one file
here plus its config section; nothing else changes."""

import importlib
import pkgutil

import monitor.sinks
from monitor.config import MonitorConfig
from monitor.sinks.base import Sink


def sink_modules() -> list[str]:
    """Names of the modules that define a sink, sorted (the order sinks are built and written)."""
    names = []
    for info in pkgutil.iter_modules(monitor.sinks.__path__):
        module = importlib.import_module(f"monitor.sinks.{info.name}")
        if callable(getattr(module, "build_sink", None)):
            names.append(info.name)
    return sorted(names)


def build_sinks(config: MonitorConfig) -> list[Sink]:
    """The enabled sinks; each validates its settings in its constructor and connects only in open()."""
    sinks = []
    for name in sink_modules():
        sink = importlib.import_module(f"monitor.sinks.{name}").build_sink(config)
        if sink is not None:
            sinks.append(sink)
    names = [s.name for s in sinks]
    if len(set(names)) != len(names):
        raise ValueError(f"two sinks share a name: {names}")
    return sinks
