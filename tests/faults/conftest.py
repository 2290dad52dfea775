"""The fault-injection suite's daemon rig (tests/faults/harness.py)."""

from tests.faults.harness import processors, rig_factory  # noqa: F401
from tests.sinks.conftest import mosquitto, mosquitto_factory  # noqa: F401
