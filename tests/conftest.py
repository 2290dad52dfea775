"""Shared fixtures: the default (reference) simulated run, made once per test session."""

from pathlib import Path

import pytest

from monitor.simulate import SimulatedRun, SimulationOptions, simulate

REPO = Path(__file__).resolve().parents[1]
SHARED_DATA = REPO.parent / "shared" / "data" / "apmcm2022a"


@pytest.fixture(scope="session")
def reference_run(tmp_path_factory: pytest.TempPathFactory) -> SimulatedRun:
    """The default run: 562 frames, 110..671 s, seed 0, 1024x768."""
    return simulate(tmp_path_factory.mktemp("reference"), SimulationOptions(), progress=False)


@pytest.fixture
def short_options() -> SimulationOptions:
    """A short, small run across the crystallization start: quick to write twice."""
    return SimulationOptions(seconds=12, start=540, width=320, height=240, seed=3, workers=1)
