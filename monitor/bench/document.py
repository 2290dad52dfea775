"""The bench's JSON document as a typed record (docs/results/bench.json). The phases measure in processes
of their own and hand back plain JSON-like results; they are checked into these records when the document
is built, and a field that goes missing, changes type or appears unannounced fails there, not in a reader.

The fields are declared in the order of the file, so a document read and written again is the same text.
Keys with "stage" in them (`latency_stages`, `full_pipeline_stages_ms`, `stages_ms`) mean pipeline steps;
they keep their names so the published schema-1 documents still load.
"""

import json
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

JsonScalar = int | float | str | bool | None


class Record(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)


class Percentiles(Record):
    """Milliseconds (stats.percentiles)."""

    p50: float
    p95: float
    p99: float
    mean: float
    min: float
    max: float


class StepShare(Record):
    mean_ms: float
    share_pct: float


class Machine(Record):
    cpu_model: str
    cores: int | None
    usable_cores: int | None
    memory_mb: int | None
    gpu: bool
    platform: str
    python: str


class LoadAverage(Record):
    before: list[float]
    after: list[float]


class RunInfo(Record):
    start_s: int
    seed: int
    first: str
    last: str


class Delivery(Record):
    """The latency phase's frames: written into the watched folder, received on MQTT."""

    written: int
    received: int
    lost: list[str]
    unexpected: list[str]
    duplicates: int
    in_order: bool
    ok: bool


class DaemonFigures(Record):
    peak_rss_mb: float | None
    rss_at_end_mb: float | None
    startup_s: float
    cpu_ms_per_frame: float | None
    exit_code: int | None
    errors_logged: int


class Throughput(Record):
    """Frames/s of the batch phases."""

    digitize: float
    analyze: float
    full_pipeline: float


class PipelineFigures(Record):
    throughput_fps: Throughput
    full_pipeline_stages_ms: dict[str, float]
    full_pipeline_frame_ms: Percentiles
    engines: dict[str, str] | None  # model task -> the engine `auto` loaded; None without models
    process_peak_rss_mb: float | None = None


class NaiveFigures(Record):
    throughput_fps: float
    frame_ms: Percentiles
    stages_ms: dict[str, float]
    models_ms: float | None
    inputs: dict[str, str]
    torch_threads: int
    process_peak_rss_mb: float | None = None


class Ratios(Record):
    """> 1 means ours is better (report.ratios)."""

    full_pipeline_throughput: float | None
    frame_ms_p50: float | None
    ocr_ms: float | None
    models_ms: float | None


class Timing(Record):
    median_ms: float
    min_ms: float
    max_ms: float


class EngineFigures(Record):
    """One model's batch-1 call time on each engine."""

    input: str
    architecture: str
    params: dict[str, JsonScalar]
    torch: Timing
    torch_channels_last: Timing = Field(alias="torch+channels_last")
    onnx: Timing
    fastest: str


class Engines(Record):
    default_backend: str
    torch_threads: int
    models: dict[str, EngineFigures]
    process_peak_rss_mb: float | None = None


class Target(Record):
    value: float | None
    target: str  # e.g. "<= 150"
    met: bool


class BenchDocument(Record):
    schema_version: int = Field(alias="schema")
    date: str
    seconds: float
    command: list[str]
    machine: Machine
    load_average: LoadAverage
    versions: dict[str, str | None]
    frames: int
    warmup_frames: int
    run: RunInfo
    models_dir: str
    latency_ms: Percentiles
    speedup_vs_naive: float | None
    peak_rss_mb: float | None
    latency_stages: dict[str, StepShare]
    warmup_latency_ms: list[float]
    delivery: Delivery
    daemon: DaemonFigures
    rate_fps: float
    throughput_fps: Throughput
    pipeline: PipelineFigures
    naive: NaiveFigures
    ratios: Ratios
    engines: Engines
    targets: dict[str, Target]

    def to_json(self) -> str:
        """The file's text: two-space indents, keys in the declared order, a final newline."""
        return json.dumps(self.to_dict(), indent=2, ensure_ascii=False) + "\n"

    def to_dict(self) -> dict[str, Any]:
        return self.model_dump(mode="json", by_alias=True)

    @classmethod
    def from_json(cls, text: str) -> "BenchDocument":
        return cls.model_validate_json(text)
