"""The OCR acceptance sweep: one simulated run, its overlay repainted in the styles of each variant class,
digitized and scored against the truth. `furnace-monitor evaluate-ocr --variants DIR` runs it.

A per-run class draws one style per run of consecutive frames (as on a real rig); a per-frame class draws
a new style for every frame (a stress case: the line layout changes under the reader all the time). The
held-out classes use fonts, colours and brackets the reader was never tuned on.
"""

import csv
import random
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

import cv2

from monitor.evaluation.ocr import Evaluation, read_truth, score
from monitor.evaluation.ocr_variants import (
    FONTS,
    HELD_OUT_2_BRACKETS,
    HELD_OUT_2_FONTS,
    HELD_OUT_2_PALETTES,
    HELD_OUT_BRACKETS,
    HELD_OUT_FONTS,
    HELD_OUT_PALETTES,
    PALETTES,
    OverlayRepainter,
    PaintStyle,
    StylePool,
    all_fonts,
    all_palettes,
    encode_jpeg,
)
from monitor.ingest.loader import list_frames
from monitor.overlay.digitize import DigitizedRow, FrameReader, digitize
from monitor.simulate import SimulationOptions, simulate

Mode = Literal["per-run", "per-frame", "reference"]
BASE = "base"  # the simulated run every class repaints


@dataclass(frozen=True, slots=True)
class VariantClass:
    name: str
    mode: Mode
    pool: StylePool | None  # None = the simulator's own overlay, untouched
    held_out: bool = False


def _classes() -> tuple[VariantClass, ...]:
    fonts, palettes = all_fonts(), all_palettes()
    held = StylePool(HELD_OUT_FONTS, HELD_OUT_PALETTES, brackets=HELD_OUT_BRACKETS)
    held2 = StylePool(HELD_OUT_2_FONTS, HELD_OUT_2_PALETTES, brackets=HELD_OUT_2_BRACKETS)
    return (
        VariantClass("reference", "reference", None),
        *(VariantClass(f"font:{n}", "per-run", StylePool(group, palettes)) for n, group in FONTS.items()),
        *(VariantClass(f"colour:{n}", "per-run", StylePool(fonts, group)) for n, group in PALETTES.items()),
        VariantClass("per-frame", "per-frame", StylePool(fonts, palettes)),
        VariantClass("held-out", "per-run", held, held_out=True),
        VariantClass("held-out:per-frame", "per-frame", held, held_out=True),
        VariantClass("held-out-2", "per-run", held2, held_out=True),
        VariantClass("held-out-2:per-frame", "per-frame", held2, held_out=True),
    )


CLASSES = _classes()


@dataclass(frozen=True, slots=True)
class ClassResult:
    variant: VariantClass
    evaluation: Evaluation
    styles: tuple[str, ...]  # the per-run styles, described
    layout_detections: int
    second_looks: int  # field reads by the other engine, all runs of the class
    binarised_looks: int
    widened_looks: int  # field reads by the first model at the run's other width (scale.py)
    trusted: int  # pair-hesitant first reads accepted on the run's trust (trust.py)
    cpu_seconds: float  # the process's CPU time: a speed figure other work on the machine does not skew

    @property
    def frames_per_cpu_s(self) -> float:
        return self.evaluation.frames / self.cpu_seconds if self.cpu_seconds else 0.0


def ensure_base(out: Path, *, seconds: int | None = None, progress: bool) -> Path:
    """The default simulated run (seed 0; its first `seconds` only, when given), written once."""
    folder = out / (BASE if seconds is None else f"{BASE}-{seconds}")
    options = SimulationOptions() if seconds is None else SimulationOptions(seconds=seconds)
    if not (folder / "truth.csv").is_file():
        simulate(folder, options, progress=progress)
    return folder


def repaint_run(base: Path, folder: Path, frames: list[str], styles: Callable[[int], PaintStyle]) -> None:
    """Write `frames` of the base run into `folder`, each repainted in styles(i), and their truth rows."""
    folder.mkdir(parents=True, exist_ok=True)
    truth = read_truth(base / "truth.csv")
    painter = OverlayRepainter()
    for i, name in enumerate(frames):
        row = truth[name]
        style = styles(i)
        image = cv2.imread(str(base / name))
        lines = style.lines(int(row["time_s"]), int(row["t1_c"]), int(row["t2_c"]))
        (folder / name).write_bytes(encode_jpeg(painter.paint(image, style, lines), style.jpeg_quality))
    _write_truth(folder, truth, frames)


def run_class(
    variant: VariantClass,
    base: Path,
    out: Path,
    reader: FrameReader,
    *,
    frames: int,
    runs: int,
    seed: int,
) -> ClassResult:
    """Paint this class's runs (kept if already there), digitize them with one reader, score them together."""
    names = [p.name for p in list_frames(base)]
    rng = random.Random(f"{variant.name}:{seed}")
    per_run = max(frames // runs, 1) if variant.mode != "per-frame" else frames
    folders, described = [], []
    for k in range(1 if variant.mode == "per-frame" else runs):
        start = rng.randint(0, max(len(names) - per_run, 0))
        window = names[start : start + per_run]
        folder = out / f"{variant.name.replace(':', '-')}-seed{seed}-{frames}" / f"run{k}"
        folders.append(folder)
        if variant.pool is None:
            styles = None
            described.append("simulator's own overlay")
        elif variant.mode == "per-frame":
            frame_styles = [variant.pool.sample(rng) for _ in window]
            styles = frame_styles.__getitem__
            described.append(f"{len(window)} styles, one per frame")
        else:
            style = variant.pool.sample(rng)
            styles = lambda _i, s=style: s  # noqa: E731
            described.append(style.describe())
        if not (folder / "truth.csv").is_file():
            if styles is None:
                _copy_run(base, folder, window)
            else:
                repaint_run(base, folder, window, styles)
    rows: list[DigitizedRow] = []
    truth: dict[str, dict[str, str]] = {}
    detections = second = binarised = widened = trusted = 0
    started, cpu_started = time.perf_counter(), time.process_time()
    for folder in folders:
        run_rows = digitize(list_frames(folder), reader, progress=False)
        detections += getattr(reader, "layout_detections", 0)
        counts = getattr(reader, "counts", None)
        second += getattr(counts, "second_engine", 0)
        binarised += getattr(counts, "binarised", 0)
        widened += getattr(counts, "widened", 0)
        trusted += getattr(counts, "trusted", 0)
        rows += [_tagged(r, folder) for r in run_rows]
        truth |= {f"{folder.name}/{k}": v for k, v in read_truth(folder / "truth.csv").items()}
    elapsed, cpu = time.perf_counter() - started, time.process_time() - cpu_started
    evaluation = Evaluation(score(rows, truth), len(rows), elapsed)
    return ClassResult(
        variant, evaluation, tuple(described), detections, second, binarised, widened, trusted, cpu
    )


def _tagged(row: DigitizedRow, folder: Path) -> DigitizedRow:
    # Runs of one class share file names; the run's folder keeps their truth rows apart.
    return DigitizedRow(
        no=row.no, file=f"{folder.name}/{row.file}", reading=row.reading, frame_error=row.frame_error
    )


def _copy_run(base: Path, folder: Path, window: list[str]) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    truth = read_truth(base / "truth.csv")
    for name in window:
        (folder / name).write_bytes((base / name).read_bytes())
    _write_truth(folder, truth, window)


def _write_truth(folder: Path, truth: dict[str, dict[str, str]], names: list[str]) -> None:
    """The truth rows of `names`, in that order, as the run's truth.csv."""
    with (folder / "truth.csv").open("w", newline="", encoding="utf-8") as f:
        writer = csv.DictWriter(f, fieldnames=["time_s", "file", "t1_c", "t2_c"], extrasaction="ignore")
        writer.writeheader()
        writer.writerows(truth[name] for name in names)


def run_sweep(
    out: Path,
    reader: FrameReader,
    *,
    frames: int = 300,
    runs: int = 2,
    seed: int = 0,
    classes: tuple[VariantClass, ...] = CLASSES,
    progress: bool = False,
) -> list[ClassResult]:
    """Every class: `frames` frames (in `runs` runs for a per-run class), scored."""
    # Small sweeps (a smoke test) repaint the start of the run only; real ones the whole run.
    base = ensure_base(out, seconds=None if frames >= 150 else max(4 * frames, 12), progress=progress)
    results = []
    for variant in classes:
        results.append(run_class(variant, base, out, reader, frames=frames, runs=runs, seed=seed))
        if progress:
            print(format_sweep(results[-1:], header=False), flush=True)
    return results


def select(names: list[str] | None) -> tuple[VariantClass, ...]:
    if not names:
        return CLASSES
    known = {c.name: c for c in CLASSES}
    unknown = [n for n in names if n not in known]
    if unknown:
        raise ValueError(f"unknown variant class {', '.join(unknown)}; known: {', '.join(known)}")
    return tuple(known[n] for n in names)


HEADER = (
    "class                 mode       frames   time %     1# %     2# %  wrong+unflagged  flagged"
    "  layouts  2nd-engine  binarised  wider  trusted  frames/s  frames/cpu-s"
)


def format_sweep(results: list[ClassResult], *, header: bool = True) -> str:
    lines = [HEADER] if header else []
    for r in results:
        e = r.evaluation
        f = e.score.fields
        unflagged = sum(s.wrong_unflagged for s in f.values())
        flagged = sum(s.flagged for s in f.values())
        lines.append(
            f"{r.variant.name:<21} {r.variant.mode:<9} {e.frames:>7} {100 * f['time'].accuracy:>8.2f}"
            f" {100 * f['t1'].accuracy:>8.2f} {100 * f['t2'].accuracy:>8.2f} {unflagged:>16} {flagged:>8}"
            f" {r.layout_detections:>8} {r.second_looks:>11} {r.binarised_looks:>10} {r.widened_looks:>6}"
            f" {r.trusted:>8} {e.frames_per_s:>9.1f}"
            f" {r.frames_per_cpu_s:>13.1f}"
        )
    return "\n".join(lines)


def format_confusions(results: list[ClassResult], limit: int = 15) -> str:
    lines = []
    for r in results:
        cases = r.evaluation.score.confusions
        if not cases:
            continue
        lines.append(f"{r.variant.name}: {len(cases)} misses; styles: {'; '.join(r.styles)}")
        lines += [
            f"  {c.file} {c.field}: raw {c.raw!r} -> {c.read}, truth {c.truth}"
            + (f"  [{c.flag}]" if c.flag else "")
            for c in cases[:limit]
        ]
    return "\n".join(lines)


def sweep_json(results: list[ClassResult]) -> dict[str, object]:
    return {
        r.variant.name: {
            "mode": r.variant.mode,
            "held_out": r.variant.held_out,
            "styles": list(r.styles),
            "layout_detections": r.layout_detections,
            "second_engine_looks": r.second_looks,
            "binarised_looks": r.binarised_looks,
            "widened_looks": r.widened_looks,
            "trusted_reads": r.trusted,
            "frames_per_cpu_s": round(r.frames_per_cpu_s, 2),
            **r.evaluation.to_json(),
        }
        for r in results
    }
