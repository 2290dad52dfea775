"""Batch throughput of the real pipeline (JPEG decode included, as the commands run it): `digitize`,
`analyze` without the models, and the full pipeline (`analyze` with them). Run in its own process."""

import logging
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from monitor.bench.stats import percentiles, step_means
from monitor.config import MonitorConfig, parse_config
from monitor.overlay.digitize import digitize
from monitor.overlay.factory import build_reader
from monitor.pipeline.batch import analyze_frames
from monitor.pipeline.process import FrameProcessor, build_processor
from monitor.records import Frame, FrameResult

log = logging.getLogger(__name__)


def bench_config(models_dir: Path | None) -> MonitorConfig:
    """The default configuration, with the model step on for `models_dir` (None = off)."""
    models = {"enabled": False} if models_dir is None else {"enabled": True, "dir": str(models_dir)}
    return parse_config({"models": models}, env={})


class RecordingProcessor(FrameProcessor):
    """The same pipeline, remembering each frame's step times (the result carries them anyway)."""

    def __init__(self, base: FrameProcessor) -> None:
        super().__init__(
            reader=base.reader,
            features=base.features,
            confirm_frames=base.confirm_frames,
            model_step=base.model_step,
        )
        self.timings: list[FrameResult] = []

    def process_batch(self, frames: Sequence[Frame], *, run: str = "") -> list[FrameResult]:
        results = super().process_batch(frames, run=run)
        self.timings.extend(results)
        return results


def timed(warmup: list[Path], measured: list[Path], run: Callable[[list[Path]], object]) -> float:
    """Frames/s of `run` on the measured frames, after one call on the warm-up frames (lazy model set-up,
    first-call allocations) that is not counted."""
    if warmup:
        run(warmup)
    started = time.perf_counter()
    run(measured)
    return len(measured) / (time.perf_counter() - started)


def measure_pipeline(warmup: list[Path], measured: list[Path], models_dir: Path) -> dict[str, Any]:
    """frames/s of digitize, analyze and the full pipeline, and the full pipeline's per-frame step times."""
    plain, full = bench_config(None), bench_config(models_dir)
    o = plain.overlay
    size = (o.frame_width, o.frame_height) if o.frame_width and o.frame_height else None

    reader = build_reader(plain.overlay, plain.ocr)
    fps_digitize = timed(warmup, measured, lambda paths: digitize(paths, reader, size=size, progress=False))
    log.info("digitize: %.1f frames/s", fps_digitize)

    def analyze(processor: FrameProcessor) -> Callable[[list[Path]], object]:
        return lambda paths: analyze_frames(paths, processor, run="bench", size=size, progress=False)

    fps_analyze = timed(warmup, measured, analyze(build_processor(plain)))
    log.info("analyze: %.1f frames/s", fps_analyze)

    pipeline = RecordingProcessor(build_processor(full))
    fps_full = timed(warmup, measured, analyze(pipeline))
    log.info("full pipeline: %.1f frames/s", fps_full)
    results = pipeline.timings[len(warmup) :]
    steps = step_means(dict(r.step_ms) for r in results)
    models = pipeline.model_step
    return {
        "throughput_fps": {
            "digitize": round(fps_digitize, 2),
            "analyze": round(fps_analyze, 2),
            "full_pipeline": round(fps_full, 2),
        },
        # decode runs ahead in its own thread here (load_frames), overlapping the other steps
        "full_pipeline_stages_ms": {k: round(v, 2) for k, v in steps.items()},
        "full_pipeline_frame_ms": percentiles([r.latency_ms for r in results]),
        "engines": None if models is None else models.engines(),
    }
