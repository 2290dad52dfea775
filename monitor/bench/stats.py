"""Small statistics for the bench: percentiles and per-step means of millisecond samples."""

from collections.abc import Iterable, Mapping, Sequence

import numpy as np

OTHER = "watcher_queue_publish"  # what end to end minus the measured steps leaves: the daemon's plumbing


def percentiles(samples: Sequence[float]) -> dict[str, float]:
    """p50, p95, p99 (linear interpolation, as numpy), mean, min and max, ms rounded to 0.01."""
    if not samples:
        raise ValueError("no samples")
    a = np.asarray(samples, dtype=float)
    p50, p95, p99 = np.percentile(a, [50, 95, 99])
    figures = {"p50": p50, "p95": p95, "p99": p99, "mean": a.mean(), "min": a.min(), "max": a.max()}
    return {k: round(float(v), 2) for k, v in figures.items()}


def step_means(per_frame: Iterable[Mapping[str, float]]) -> dict[str, float]:
    """Mean milliseconds per pipeline step over frames; a step missing from a frame counts as 0 there."""
    frames = list(per_frame)
    steps: list[str] = []
    for frame in frames:
        steps += [s for s in frame if s not in steps]
    return {s: sum(f.get(s, 0.0) for f in frames) / len(frames) for s in steps} if frames else {}


def shares(means: Mapping[str, float], total: float) -> dict[str, dict[str, float]]:
    """Each step's mean ms and its share of `total` (%)."""
    return {
        step: {"mean_ms": round(ms, 2), "share_pct": round(100.0 * ms / total, 1) if total else 0.0}
        for step, ms in means.items()
    }


def with_remainder(step_ms: Mapping[str, float], total_ms: float) -> dict[str, float]:
    """The steps of one frame plus OTHER = total minus their sum, so the parts add up to the total."""
    return {**step_ms, OTHER: total_ms - sum(step_ms.values())}
