"""Fixtures for the learning code: the reference run labelled from its truth (no OCR needed)."""

import csv

import numpy as np
import pytest

from monitor.nets.labels import LabelledRun
from monitor.records import Stage
from monitor.simulate import SimulatedRun


def labelled_from_truth(run: SimulatedRun) -> LabelledRun:
    """The simulator's truth as labels: what the digitizer and the detector would give, minus their errors."""
    with (run.out / "truth.csv").open(encoding="utf-8") as f:
        rows = list(csv.DictReader(f))
    return LabelledRun(
        name=run.out.name,
        folder=run.out,
        files=tuple(r["file"] for r in rows),
        times=np.array([float(r["time_s"]) for r in rows]),
        t1_c=np.array([float(r["t1_c"]) for r in rows]),
        progress_pct=np.array([float(r["progress_pct"]) for r in rows]),
        stages=tuple(Stage(r["stage"]) for r in rows),
        decoded=np.ones(len(rows), dtype=bool),
    )


@pytest.fixture(scope="session")
def truth_run(reference_run: SimulatedRun) -> LabelledRun:
    """The 562-frame reference run (1024x768) with its true 1#, progress and stage."""
    return labelled_from_truth(reference_run)
