"""What `analyze` produces for a run: the per-frame series, the events, the summary, the health verdicts."""

from dataclasses import dataclass, field

from monitor.analytics.locate import SampleFinding
from monitor.records import (
    AvramiFit,
    Features,
    Flag,
    MissedEvent,
    Prediction,
    ProgressEstimate,
    Stage,
    StageEvent,
    ThermocoupleHealth,
)


@dataclass(frozen=True, slots=True)
class RunSummary:
    """The characteristic numbers of a run, as a metallurgist reports them."""

    melting_temperature_c: float | None  # 1# at melting_complete
    crystallization_temperature_c: float | None  # 1# at crystallization_start
    cooling_start_s: float | None  # end of the hold
    incubation_s: float | None  # from the start of cooling to crystallization_start
    avrami: AvramiFit | None  # fitted to the image fraction curve


@dataclass(frozen=True, slots=True)
class AnalysisResult:
    """A whole analysed run; every list is indexed like `times`."""

    run: str
    times: list[float]
    files: list[str]
    features: list[Features | None]  # None where the frame could not be decoded
    t1: list[float | None]
    t2: list[float | None]
    stages: list[Stage]  # final labels, from the confirmed events
    events: list[StageEvent]
    fraction_image: list[float | None]  # image measure of the crystallized area, 0..1
    progress_pct: list[float]  # the reference paper's label, from the detected events
    health: list[ThermocoupleHealth]
    correlation: dict[str, dict[str, float | None]]  # Pearson r between "1#", "2#", "mean", "probe_sum"
    summary: RunSummary
    flags: list[list[Flag]] = field(default_factory=list)  # per frame: OCR / frame / camera flags
    predictions: list[Prediction | None] = field(default_factory=list)  # per frame, when models ran
    # per frame, as the pipeline knew it live (the run's history, else the image model); frames only
    progress_live: list[ProgressEstimate | None] = field(default_factory=list)
    missed: list[MissedEvent] = field(default_factory=list)  # events not found, with the reason
    sample: SampleFinding | None = None  # where the sample was found (frames only, not a table of means)
