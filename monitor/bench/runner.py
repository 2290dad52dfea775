"""`furnace-monitor bench`: the phases in order, each on the same synthetic frames, then one document.

Order: the engines first (they also export the ONNX copies the daemon then finds cached, as a service
that has run once does), the batch pipeline, the naive reference, and last the daemon end to end. Each
batch phase runs in a fresh process; nothing else of the bench runs while a phase is measured."""

import logging
import shutil
import sys
import tempfile
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from monitor.bench.document import BenchDocument
from monitor.bench.engines import measure_engines
from monitor.bench.isolate import run_isolated
from monitor.bench.latency import measure_latency
from monitor.bench.machine import load_average, machine, versions
from monitor.bench.naive import measure_naive
from monitor.bench.report import build_document
from monitor.bench.throughput import measure_pipeline
from monitor.bench.workload import make_workload
from monitor.nets.manifest import MANIFEST_NAME, ModelError
from monitor.nets.runtime import FORECAST_DIR, REGRESSOR_DIR

log = logging.getLogger(__name__)

BENCH_SCHEMA = 1


@dataclass(frozen=True, slots=True)
class BenchOptions:
    frames: int = 100  # measured frames, each phase
    warmup: int = 5  # frames before them, not counted (first-call set-up, the run's layout detection)
    rate: float = 2.0  # frames/s written for the latency phase: well under the daemon's throughput
    models_dir: Path = Path("models")
    start_s: int = 110  # the run second of the first frame: a run's beginning, as the daemon meets it
    seed: int = 0
    work: Path | None = None  # kept when given; else a temporary folder, removed afterwards


def ensure_models(models_dir: Path, work: Path) -> None:
    """The demo-size models when the folder has none (the demo's own training, on another seed)."""
    from monitor.demo import ensure_models as train_demo_models

    if not all((models_dir / name / MANIFEST_NAME).is_file() for name in (REGRESSOR_DIR, FORECAST_DIR)):
        if any((models_dir / name / MANIFEST_NAME).is_file() for name in (REGRESSOR_DIR, FORECAST_DIR)):
            raise ModelError(f"{models_dir}: one model only; the bench needs both (or none, to train them)")
        train_demo_models(models_dir, work)


def run_bench(options: BenchOptions, *, command: list[str] | None = None) -> BenchDocument:
    if options.work is not None:
        options.work.mkdir(parents=True, exist_ok=True)
        return _run(options, options.work, command)
    work = Path(tempfile.mkdtemp(prefix="furnace-bench-"))
    try:
        return _run(options, work, command)
    finally:
        shutil.rmtree(work, ignore_errors=True)


def _run(options: BenchOptions, work: Path, command: list[str] | None) -> BenchDocument:
    started = datetime.now(UTC)
    load_before = load_average()
    models = options.models_dir.resolve()
    ensure_models(models, work / "training")
    log.info("simulating %d + %d frames", options.warmup, options.frames)
    workload = make_workload(
        work / "frames",
        frames=options.frames,
        warmup=options.warmup,
        start_s=options.start_s,
        seed=options.seed,
    )
    warm, measured = list(workload.warmup), list(workload.measured)
    log.info("model engines, batch 1")
    engines = run_isolated(measure_engines, models, measured[0])
    log.info("batch throughput: digitize, analyze, full pipeline")
    pipeline = run_isolated(measure_pipeline, warm, measured, models)
    log.info("the naive reference pipeline")
    naive = run_isolated(measure_naive, warm, measured, models)
    log.info("end to end through the daemon")
    latency = measure_latency(workload, models, work / "daemon", rate=options.rate)
    header = {
        "schema": BENCH_SCHEMA,
        "date": started.isoformat(timespec="seconds"),
        "seconds": round((datetime.now(UTC) - started).total_seconds(), 1),
        "command": command if command is not None else sys.argv,
        "machine": machine(),
        "load_average": {"before": load_before, "after": load_average()},
        "versions": versions(),
        "frames": len(measured),
        "warmup_frames": len(warm),
        "run": {"start_s": workload.start_s, "seed": workload.seed, "first": measured[0].name,
                "last": measured[-1].name},
        "models_dir": str(models),
    }  # fmt: skip
    return build_document(header=header, latency=latency, pipeline=pipeline, naive=naive, engines=engines)
