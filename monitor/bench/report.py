"""The bench's document (targets checked, ratios derived) and its short table for the terminal."""

from pathlib import Path
from typing import Any

from monitor.bench.document import BenchDocument, Target

TARGETS = {  # the targets on the project's 2-core machine
    "latency_p50_ms": 150.0,
    "latency_p99_ms": 300.0,
    "speedup_vs_naive": 3.0,
    "peak_rss_mb": 2500.0,
}


def ratios(ours: dict[str, Any], naive: dict[str, Any]) -> dict[str, float | None]:
    """naive / ours for times, ours / naive for rates: > 1 means ours is better."""
    ours_stages, naive_stages = ours["full_pipeline_stages_ms"], naive["stages_ms"]

    def ratio(a: float | None, b: float | None) -> float | None:
        return round(a / b, 2) if a is not None and b else None

    return {
        "full_pipeline_throughput": ratio(ours["throughput_fps"]["full_pipeline"], naive["throughput_fps"]),
        "frame_ms_p50": ratio(naive["frame_ms"]["p50"], ours["full_pipeline_frame_ms"]["p50"]),
        "ocr_ms": ratio(naive_stages.get("ocr"), ours_stages.get("ocr")),
        "models_ms": ratio(naive["models_ms"], ours_stages.get("models")),
    }


def targets(doc: dict[str, Any]) -> dict[str, dict[str, Any]]:
    values = {
        "latency_p50_ms": doc["latency_ms"]["p50"],
        "latency_p99_ms": doc["latency_ms"]["p99"],
        "speedup_vs_naive": doc["speedup_vs_naive"],
        "peak_rss_mb": doc["peak_rss_mb"],
    }
    checked = {}
    for key, limit in TARGETS.items():
        value = values[key]
        at_least = key == "speedup_vs_naive"
        met = value is not None and (value >= limit if at_least else value <= limit)
        checked[key] = {"value": value, "target": (">= " if at_least else "<= ") + f"{limit:g}", "met": met}
    return checked


def build_document(
    *, header: dict[str, Any], latency: dict[str, Any], pipeline: dict[str, Any], naive: dict[str, Any],
    engines: dict[str, Any],
) -> BenchDocument:  # fmt: skip
    """The phases' results, checked into the typed document."""
    rates = ratios(pipeline, naive)
    doc: dict[str, Any] = {
        **header,
        "latency_ms": latency["latency_ms"],
        "speedup_vs_naive": rates["full_pipeline_throughput"],
        "peak_rss_mb": latency["daemon"]["peak_rss_mb"],
        "latency_stages": latency["latency_stages"],
        "warmup_latency_ms": latency["warmup_latency_ms"],
        "delivery": latency["delivery"],
        "daemon": latency["daemon"],
        "rate_fps": latency["rate_fps"],
        "throughput_fps": pipeline["throughput_fps"],
        "pipeline": pipeline,
        "naive": naive,
        "ratios": rates,
        "engines": engines,
    }
    doc["targets"] = targets(doc)
    return BenchDocument.model_validate(doc)


def write_document(path: Path, doc: BenchDocument) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.tmp")
    tmp.write_text(doc.to_json(), encoding="utf-8")
    tmp.replace(path)


def _mark(target: Target) -> str:
    return "ok" if target.met else "MISSED"


def format_table(doc: BenchDocument) -> str:
    m, t, lat = doc.machine, doc.targets, doc.latency_ms
    gpu = "a GPU" if m.gpu else "no GPU"
    lines = [
        f"furnace-monitor bench: {doc.frames} frames (+{doc.warmup_frames} warm-up), synthetic run; "
        f"{m.cores} cores {m.cpu_model}, {gpu}, load {doc.load_average.before[0]:.2f}",
        f"end to end, file renamed -> MQTT frame received ({doc.rate_fps:g} frames/s, models on):",
        f"  p50 {lat.p50:.1f} ms  p95 {lat.p95:.1f} ms  p99 {lat.p99:.1f} ms   "
        f"(p50 <= 150: {_mark(t['latency_p50_ms'])}, p99 <= 300: {_mark(t['latency_p99_ms'])})",
        f"  {'step':<24}{'mean ms':>9}{'share':>8}",
    ]
    for step, s in doc.latency_stages.items():
        lines.append(f"  {step:<24}{s.mean_ms:>9.1f}{s.share_pct:>7.1f}%")
    ours, naive = doc.throughput_fps, doc.naive
    lines += [
        f"throughput, frames/s          {'ours':>8}{'naive':>8}{'ratio':>8}",
        f"  digitize                    {ours.digitize:>8.1f}",
        f"  analyze (no models)         {ours.analyze:>8.1f}",
        f"  full pipeline               {ours.full_pipeline:>8.1f}{naive.throughput_fps:>8.2f}"
        f"{doc.speedup_vs_naive or 0:>7.1f}x  (>= 3x: {_mark(t['speedup_vs_naive'])})",
        f"peak RSS of the daemon, all models loaded: {doc.peak_rss_mb or 0:.0f} MB "
        f"(<= 2500: {_mark(t['peak_rss_mb'])}); naive process {naive.process_peak_rss_mb or 0:.0f} MB",
    ]
    d = doc.delivery
    state = "every file once, in order" if d.ok else (
        f"LOST {len(d.lost)}, duplicates {d.duplicates}, in order: {d.in_order}"
    )  # fmt: skip
    lines.append(f"delivery: {d.received}/{d.written} frame messages, {state}")
    if doc.engines.models:
        names = ("torch", "torch+channels_last", "onnx")
        lines.append(f"engines, batch 1, median ms  {''.join(f'{n:>21}' for n in names)}   fastest")
        for task, e in doc.engines.models.items():
            cells = "".join(
                f"{timing.median_ms:>21.1f}" for timing in (e.torch, e.torch_channels_last, e.onnx)
            )
            lines.append(f"  {task:<26}{cells}   {e.fastest}")
        lines.append(f"  models.backend auto = {doc.engines.default_backend}")
    return "\n".join(lines)
