"""The OCR acceptance sweep: simulated runs over seeds, JPEG qualities, noise and overlay variants, each
digitized and scored against its truth. `furnace-monitor evaluate-ocr --variants DIR` runs it."""

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from monitor.ingest.loader import list_frames
from monitor.overlay.digitize import FrameReader
from monitor.overlay.evaluate import Evaluation, evaluate_run
from monitor.simulate import OverlayOptions, SimulationOptions, simulate
from monitor.simulate.overlay import FONT_CANDIDATES


@dataclass(frozen=True, slots=True)
class Variant:
    name: str
    group: str  # "camera" (seeds, JPEG, noise) or "overlay" (font, colours, offset, scale)
    options: SimulationOptions


def _run(seed: int, **changes: object) -> SimulationOptions:
    return SimulationOptions(seed=seed, **changes)  # type: ignore[arg-type]


VARIANTS: tuple[Variant, ...] = (
    Variant("seed1-q60-noise4", "camera", _run(1, jpeg_quality=60, noise_sigma=4.0)),
    Variant("seed2-q95-noise1", "camera", _run(2, jpeg_quality=95, noise_sigma=1.0)),
    Variant("seed3-q75-noise3", "camera", _run(3, jpeg_quality=75, noise_sigma=3.0)),
    Variant("font-microhei", "overlay", _run(4, overlay=OverlayOptions(font=FONT_CANDIDATES[1]))),
    Variant(
        "dark-on-light",
        "overlay",
        _run(5, overlay=OverlayOptions(foreground=(20, 20, 20), background=(235, 235, 235))),
    ),
    Variant("offset+3", "overlay", _run(6, overlay=OverlayOptions(offset=(3, 3)))),
    Variant("offset+6", "overlay", _run(7, overlay=OverlayOptions(offset=(6, 6)))),
    Variant("scale0.9", "overlay", _run(8, overlay=OverlayOptions(scale=0.9))),
    Variant("scale1.2", "overlay", _run(9, overlay=OverlayOptions(scale=1.2, offset=(3, 3)))),
)


@dataclass(frozen=True, slots=True)
class VariantResult:
    variant: Variant
    evaluation: Evaluation


def run_sweep(
    out: Path, build: Callable[[], FrameReader], *, seconds: int | None = None, progress: bool = False
) -> list[VariantResult]:
    """Simulate each variant into out/<name> (kept if already there), digitize it, score it."""
    results = []
    for variant in VARIANTS:
        options = (
            variant.options if seconds is None else variant.options.model_copy(update={"seconds": seconds})
        )
        folder = out / variant.name
        if not (folder / "truth.csv").is_file() or len(list_frames(folder)) != options.seconds:
            simulate(folder, options, progress=progress)
        evaluation = evaluate_run(folder, folder / "truth.csv", build(), progress=progress)
        results.append(VariantResult(variant, evaluation))
    return results


def format_sweep(results: list[VariantResult]) -> str:
    lines = ["variant              group     frames   time %   1# %     2# %     wrong+unflagged  frames/s"]
    totals: dict[str, list[int]] = {}
    for r in results:
        e = r.evaluation
        f = e.score.fields
        unflagged = sum(s.wrong_unflagged for s in f.values())
        lines.append(
            f"{r.variant.name:<20} {r.variant.group:<8} {e.frames:>7} {100 * f['time'].accuracy:>7.2f}"
            f" {100 * f['t1'].accuracy:>7.2f} {100 * f['t2'].accuracy:>7.2f} {unflagged:>12}"
            f" {e.frames_per_s:>12.1f}"
        )
        group = totals.setdefault(r.variant.group, [0, 0])
        group[0] += f["t1"].exact + f["t2"].exact
        group[1] += f["t1"].total + f["t2"].total
    for group, (exact, total) in totals.items():
        lines.append(f"{group}: {exact}/{total} temperatures exact ({100 * exact / total:.2f} %)")
    return "\n".join(lines)
