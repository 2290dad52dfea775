"""`furnace-monitor demo`: the story so far, on a synthetic run made on this machine."""

import shutil
import time
from pathlib import Path

from monitor.simulate import SimulationOptions, simulate
from monitor.summary import describe_run


def run_demo(out: Path, *, seed: int = 0) -> int:
    run_dir = out / "run1"
    if run_dir.exists():
        shutil.rmtree(run_dir)
    print(f"1. simulating the reference run (110 s .. 671 s, seed {seed}) into {run_dir}")
    started = time.perf_counter()
    run = simulate(run_dir, SimulationOptions(seed=seed))
    print(f"   {len(run.frames)} frames in {time.perf_counter() - started:.1f} s\n")
    print(describe_run(run))
    return 0
