"""`furnace-monitor demo`: the story so far, on a synthetic run made on this machine."""

import shutil
import time
from pathlib import Path

from monitor.analytics.analyze import analyze_frames
from monitor.analytics.outputs import write_outputs
from monitor.config import parse_config
from monitor.ingest.loader import list_frames
from monitor.overlay.digitize import digitize
from monitor.overlay.evaluate import format_score, read_truth, score
from monitor.overlay.factory import build_reader
from monitor.overlay.table import write_table
from monitor.pipeline.process import build_processor
from monitor.report.plots import plot_temperatures
from monitor.simulate import SimulationOptions, simulate
from monitor.summary import describe_analysis, describe_run


def run_demo(out: Path, *, seed: int = 0) -> int:
    run_dir = out / "run1"
    if run_dir.exists():
        shutil.rmtree(run_dir)
    print(f"1. Simulating the reference run (110 s .. 671 s, seed {seed}) into {run_dir}")
    started = time.perf_counter()
    run = simulate(run_dir, SimulationOptions(seed=seed))
    print(f"   {len(run.frames)} frames in {time.perf_counter() - started:.1f} s\n")
    print(describe_run(run))

    config = parse_config({}, env={})
    print(f"\n2. Reading the overlay of every frame (PaddleOCR, engine {config.ocr.engine}, local models)")
    reader = build_reader(config.overlay, config.ocr)
    started = time.perf_counter()
    rows = digitize(list_frames(run_dir), reader)
    elapsed = time.perf_counter() - started
    table, plot = out / "overlay.csv", out / "temperatures.png"
    write_table(table, rows)
    plot_temperatures([r.value("time") for r in rows], [r.value("t1") for r in rows],
                      [r.value("t2") for r in rows], plot)  # fmt: skip
    print(f"   table -> {table}\n   plot  -> {plot}\n")
    print("   against the simulator's truth:")
    report = format_score(
        score(rows, read_truth(run_dir / "truth.csv")), frames=len(rows), seconds=elapsed, limit=5
    )
    print("\n".join("   " + line for line in report.splitlines()))

    print("\n3. Analysing the run: features, online stage detection, thermocouple health, report")
    result = analyze_frames(list_frames(run_dir), build_processor(config), run=run_dir.name)
    paths = write_outputs(out / "analysis", result)
    print("\n".join("   " + line for line in describe_analysis(result).splitlines()))
    print(f"\n   true events: {run_dir / 'events.json'}\n   report: {paths['report']}")
    return 0
