"""The whole configuration: one typed tree of sections."""

from pydantic import Field

from monitor.config.alerts import AlertsConfig
from monitor.config.analytics import AnalyticsConfig
from monitor.config.base import Section
from monitor.config.influx import InfluxConfig
from monitor.config.ingest import IngestConfig
from monitor.config.models import ModelsConfig
from monitor.config.mqtt import MqttConfig
from monitor.config.overlay import OcrConfig, OverlayConfig
from monitor.config.service import HttpConfig, LoggingConfig, OutboxConfig, StoreConfig


class MonitorConfig(Section):
    rig: str = Field(
        "rig1", pattern=r"^[A-Za-z0-9_-]{1,64}$", description="Rig id used in MQTT topics and InfluxDB tags."
    )
    ingest: IngestConfig = Field(default_factory=IngestConfig)
    overlay: OverlayConfig = Field(default_factory=OverlayConfig)
    ocr: OcrConfig = Field(default_factory=OcrConfig)
    analytics: AnalyticsConfig = Field(default_factory=AnalyticsConfig)
    models: ModelsConfig = Field(default_factory=ModelsConfig)
    mqtt: MqttConfig = Field(default_factory=MqttConfig)
    alerts: AlertsConfig = Field(default_factory=AlertsConfig)
    influx: InfluxConfig = Field(default_factory=InfluxConfig)
    store: StoreConfig = Field(default_factory=StoreConfig)
    outbox: OutboxConfig = Field(default_factory=OutboxConfig)
    http: HttpConfig = Field(default_factory=HttpConfig)
    logging: LoggingConfig = Field(default_factory=LoggingConfig)
