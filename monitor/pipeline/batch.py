"""`analyze`: run the pipeline over a recorded run (or a table of per-frame means) and sum it up."""

import csv
import math
from collections.abc import Sequence
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np
from tqdm import tqdm

from monitor.analytics.camera import CameraTracker
from monitor.analytics.detector import Observation, StageDetector
from monitor.analytics.fraction import offline_fraction
from monitor.analytics.health import assess
from monitor.analytics.kinetics import fit_avrami
from monitor.analytics.locate import LOCK_FRAMES, SampleFinding
from monitor.analytics.photometric import NO_STEP, table_step
from monitor.analytics.result import AnalysisResult, RunSummary
from monitor.analytics.signals import NOISE_FRAMES
from monitor.analytics.stats import robust_std
from monitor.config.overlay import PlausibilityConfig
from monitor.ingest.loader import FrameError, load_frames
from monitor.pipeline.process import FrameProcessor
from monitor.records import (
    EventType,
    Features,
    Flag,
    FlagKind,
    Frame,
    FrameResult,
    ProgressEstimate,
    StageEvent,
)
from monitor.stages import paper_progress, stage_at

# Frames the models see at once: CPU inference per frame is cheaper in a batch, and 16 decoded frames
# are ~20 MB.
MODEL_BATCH = 16


def analyze_frames(
    paths: list[Path], processor: FrameProcessor, *, run: str, size: tuple[int, int] | None = None,
    progress: bool = True, batch: int = MODEL_BATCH,
) -> AnalysisResult:  # fmt: skip
    """Every frame through the pipeline (OCR, features, online detector, models in batches of `batch`
    consecutive frames), then the run summary."""
    processor.new_run()
    results: list[FrameResult] = []
    pending: list[Frame] = []

    def flush() -> None:
        results.extend(processor.process_batch(pending, run=run))
        pending.clear()

    frames = tqdm(
        load_frames(paths, size=size), total=len(paths), unit="frame", desc="analyze", disable=not progress
    )
    for path, frame in zip(paths, frames, strict=True):
        if isinstance(frame, FrameError):
            flush()  # the failed frame takes the stage the frames before it reached
            results.append(processor.failed(len(results), path.name, str(frame), kind=frame.kind))
        else:
            pending.append(frame)
            if len(pending) >= batch:
                flush()
    flush()
    summary = summarise_frames([FrameRecord.of(r) for r in results], processor, run=run, paths=paths)
    if processor.model_step is None:
        return summary
    return replace(summary, predictions=[r.prediction for r in results])


@dataclass(frozen=True, slots=True)
class FrameRecord:
    """What the run's summary needs of one frame, without its pixels: `analyze` makes one per result, the
    daemon's sessions keep one per frame (live and replayed) to write the run's report when it ends."""

    time_s: float
    file: str
    features: Features | None  # None: the frame could not be used
    t1_c: float | None
    t2_c: float | None
    flags: tuple[Flag, ...]  # as known when the frame was processed
    progress: ProgressEstimate | None = None  # as published (replayed: the run's history only, no models)

    @classmethod
    def of(cls, result: FrameResult) -> "FrameRecord":
        return cls(
            result.time_s, result.file, result.features, result.t1_c, result.t2_c, tuple(result.flags),
            result.progress,
        )  # fmt: skip


def summarise_frames(
    records: Sequence[FrameRecord], processor: FrameProcessor, *, run: str, paths: Sequence[Path]
) -> AnalysisResult:
    """The run's summary from its frames' records and the processor that took them, in order (its detector,
    camera tracker and sample locator): `analyze` and the daemon's run reports both go through here."""
    # The camera saw only the frames that decoded: its k-th frame is the k-th of those.
    camera = processor.features.camera
    decoded = [i for i, r in enumerate(records) if r.features is not None]
    camera_flags = {i: camera.flags(k) for k, i in enumerate(decoded)}
    # the camera's flags in hindsight replace the live exposure step the record carries
    flags = [
        [*(f for f in r.flags if f.kind is not FlagKind.EXPOSURE_STEP), *camera_flags.get(i, ())]
        for i, r in enumerate(records)
    ]
    summary = summarise(
        run=run,
        times=[r.time_s for r in records],
        files=[r.file for r in records],
        features=[r.features for r in records],
        t1=[r.t1_c for r in records],
        t2=[r.t2_c for r in records],
        detector=processor.detector,
        flags=flags,
    )
    return replace(
        summary, sample=sample_finding(list(paths), processor), progress_live=[r.progress for r in records]
    )


def sample_finding(paths: list[Path], processor: FrameProcessor) -> SampleFinding | None:
    """Where the run's sample was found, with the last frame its box was learned on (for the report)."""
    location = processor.sample_location
    if location is None or not paths:
        return None
    return SampleFinding(
        location=location, check=processor.sample_check, frame=paths[min(LOCK_FRAMES, len(paths)) - 1]
    )


def analyze_table(features_csv: Path, temperatures_csv: Path | None, *, run: str,
                  plausibility: PlausibilityConfig, confirm_frames: int = 3) -> AnalysisResult:  # fmt: skip
    """The detector on a table of per-frame channel means (Time, meanB, meanG, meanR), with 1#/2# from a
    digitized table (Time, '1# Temperature', '2# Temperature') checked for plausibility on the way in."""
    with features_csv.open(encoding="utf-8") as f:
        rows = list(csv.DictReader(f))
    temps: dict[float, dict[str, str]] = {}
    if temperatures_csv is not None:
        with temperatures_csv.open(encoding="utf-8") as f:
            temps = {float(r["Time"]): r for r in csv.DictReader(f) if r.get("Time")}
    lo, hi = plausibility.t_min_c, plausibility.t_max_c
    detector = StageDetector(confirm_frames=confirm_frames)
    camera = CameraTracker()
    times: list[float] = []
    files: list[str] = []
    features: list[Features | None] = []
    t1s: list[float | None] = []
    t2s: list[float | None] = []
    flags: list[list[Flag]] = []
    previous: tuple[float, float, float] | None = None
    t1_max = -math.inf
    for row in rows:
        t = float(row["Time"])
        bgr = (float(row["meanB"]), float(row["meanG"]), float(row["meanR"]))
        # Out-of-range values are misreads (9518 for 951) and are dropped; jumps are kept: with no second
        # read to tell a misread from a real jump, judging them is the thermocouple health check's job.
        values: list[float | None] = []
        frame_flags: list[Flag] = []
        for column in ("1# Temperature", "2# Temperature"):
            raw = temps.get(t, {}).get(column, "")
            value = float(raw) if raw else None
            if value is not None and not lo <= value <= hi:
                frame_flags.append(Flag(FlagKind.OUT_OF_RANGE, column, f"{raw} outside {lo:g}..{hi:g} degC"))
                value = None
            values.append(value)
        if values[0] is not None:
            t1_max = max(t1_max, values[0])
        # No pixels here: the camera is judged on the channels' joint jump while 1# falls.
        cooling = values[0] is not None and values[0] < t1_max - 5.0
        noise = robust_std(np.diff([f.mean for f in features[-NOISE_FRAMES:] if f is not None]), short=0.0)
        step = NO_STEP if previous is None else table_step(previous, bgr, cooling=cooling, noise=noise)
        state = camera.observe(sum(bgr) / 3, step)
        previous = bgr
        feat = Features(mean=sum(bgr) / 3, mean_b=bgr[0], mean_g=bgr[1], mean_r=bgr[2], probes=(),
                        change=math.nan, texture=math.nan, textured_share=math.nan, gain=state.gain,
                        level=state.level, exposure_step=state.exposure_step)  # fmt: skip
        file = f"{int(t):04d}"
        detector.revise(camera.take_revisions())
        detector.update(Observation.of(t, file, feat, values[0]))
        times.append(t)
        files.append(file)
        features.append(feat)
        t1s.append(values[0])
        t2s.append(values[1])
        flags.append(frame_flags)
    for i, frame_flags in enumerate(flags):
        frame_flags.extend(camera.flags(i))
    return summarise(run=run, times=times, files=files, features=features, t1=t1s, t2=t2s, detector=detector,
                     flags=flags)  # fmt: skip


def summarise(
    *, run: str, times: list[float], files: list[str], features: list[Features | None],
    t1: list[float | None], t2: list[float | None], detector: StageDetector, flags: list[list[Flag]],
) -> AnalysisResult:  # fmt: skip
    events = detector.events
    at = {e.type: e.time_s for e in events}
    start, end = at.get(EventType.CRYSTALLIZATION_START), at.get(EventType.CRYSTALLIZATION_END)
    # The mean local contrast follows the crystal fraction over the middle of growth more closely than the
    # textured share, which counts a window with a little crystal in it as textured (features.py).
    texture = [None if f is None or math.isnan(f.texture) else f.texture for f in features]
    fraction = offline_fraction(times, texture, start, end)
    # The scene's own brightness: the camera's gain steps are not the thermocouples' business.
    means = [None if f is None else (f.mean if math.isnan(f.level) else f.level) for f in features]
    return AnalysisResult(
        run=run,
        times=times,
        files=files,
        features=features,
        t1=t1,
        t2=t2,
        stages=[stage_at(t, at, detector.cooling_start_s) for t in times],
        events=events,
        fraction_image=fraction,
        progress_pct=[float(p) for p in paper_progress(np.asarray(times), start, end)],
        health=assess(t1, t2, means),
        correlation=correlation_table(t1, t2, means, [None if f is None else f.probe_sum for f in features]),
        summary=RunSummary(
            melting_temperature_c=_t1_at(events, EventType.MELTING_COMPLETE),
            crystallization_temperature_c=_t1_at(events, EventType.CRYSTALLIZATION_START),
            cooling_start_s=detector.cooling_start_s,
            incubation_s=None
            if start is None or detector.cooling_start_s is None
            else start - detector.cooling_start_s,
            avrami=None if start is None else fit_avrami(times, fraction, start),
        ),
        flags=flags,
        missed=detector.not_found(),
    )


def _t1_at(events: list[StageEvent], kind: EventType) -> float | None:
    return next((e.t1_c for e in events if e.type is kind), None)


def correlation_table(*series: list[float | None]) -> dict[str, dict[str, float | None]]:
    """Pearson r between 1#, 2#, the frame mean and the probe sum, over the frames where both are known."""
    names = ("1#", "2#", "mean", "probe_sum")
    table: dict[str, dict[str, float | None]] = {}
    for a_name, a in zip(names, series, strict=True):
        table[a_name] = {}
        for b_name, b in zip(names, series, strict=True):
            pairs = [(x, y) for x, y in zip(a, b, strict=True)
                     if x is not None and y is not None and not (math.isnan(x) or math.isnan(y))]  # fmt: skip
            r = None
            if len(pairs) >= 3:
                xs, ys = np.asarray(pairs, dtype=float).T
                if xs.std() > 0 and ys.std() > 0:
                    r = float(np.corrcoef(xs, ys)[0, 1])
            table[a_name][b_name] = r
    return table
