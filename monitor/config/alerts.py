"""Which stage transitions raise an alert."""

from pydantic import Field

from monitor.config.base import Section
from monitor.records import EventType


class AlertsConfig(Section):
    events: list[EventType] = Field(
        default_factory=lambda: [EventType.CRYSTALLIZATION_START],
        description="Event types published on the alert topic (QoS 1).",
    )
