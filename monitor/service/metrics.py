"""Prometheus metrics of one daemon, in its own registry (no global state)."""

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest

_LATENCY_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.15, 0.2, 0.3, 0.5, 1.0, 2.5)


class Metrics:
    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        r = self.registry
        self.frames_processed = Counter("furnace_frames_processed", "Frames through the pipeline", registry=r)
        self.frames_failed = Counter("furnace_frames_failed", "Frames that could not be decoded", registry=r)
        self.frames_flagged = Counter(
            "furnace_frames_flagged", "Frames with a flagged overlay field", registry=r
        )
        self.step_seconds = Histogram(
            "furnace_step_seconds",
            "Time per pipeline step (decode, ocr, analytics, models; pipeline = all of them; publish)",
            ["step"],
            buckets=_LATENCY_BUCKETS,
            registry=r,
        )
        self.queue_depth = Gauge("furnace_queue_depth", "Frames waiting for processing", registry=r)
        self.write_failures = Gauge(
            "furnace_sink_write_failures", "Failed writes per sink since start", ["sink"], registry=r
        )
        self.buffered = Gauge(
            "furnace_buffered_messages", "Items waiting in the outbox per sink", ["sink"], registry=r
        )
        self.events = Counter("furnace_events", "Stage transitions detected", ["type"], registry=r)

    def render(self) -> bytes:
        return generate_latest(self.registry)
