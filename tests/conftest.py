"""Shared fixtures: the default (reference) simulated run, made once per test session."""

from pathlib import Path

import pytest

from monitor.simulate import SimulatedRun, SimulationOptions, simulate

REPO = Path(__file__).resolve().parents[1]
# The shared data sits next to the repository (or next to the folder of git worktrees).
SHARED_DATA = next(
    (
        p / "shared" / "data" / "apmcm2022a"
        for p in REPO.parents
        if (p / "shared" / "data" / "apmcm2022a").is_dir()
    ),
    REPO.parent / "shared" / "data" / "apmcm2022a",
)


@pytest.fixture(scope="session")
def reference_run(tmp_path_factory: pytest.TempPathFactory) -> SimulatedRun:
    """The default run: 562 frames, 110..671 s, seed 0, 1024x768."""
    return simulate(tmp_path_factory.mktemp("reference"), SimulationOptions(), progress=False)


@pytest.fixture
def short_options() -> SimulationOptions:
    """A short, small run across the crystallization start: quick to write twice."""
    return SimulationOptions(seconds=12, start=540, width=320, height=240, seed=3, workers=1)


@pytest.fixture(scope="session")
def ocr_cache(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A fresh cache folder for the assembled ONNX model folders."""
    return tmp_path_factory.mktemp("cache")


@pytest.fixture(scope="session")
def onnx_reader(ocr_cache: Path):
    """The default reader: real PaddleOCR (ONNX PP-OCRv6_tiny det + rec) from the installed wheels."""
    from monitor.config import parse_config
    from monitor.overlay.factory import build_reader

    config = parse_config({}, env={})
    return build_reader(config.overlay, config.ocr, cache=ocr_cache)


@pytest.fixture(scope="session")
def heating_run(tmp_path_factory: pytest.TempPathFactory) -> SimulatedRun:
    """40 small frames through melting: 2# spikes, 3- and 4-digit 1#, the melt flash behind the overlay."""
    options = SimulationOptions(seconds=40, start=110, width=320, height=240, seed=11, workers=1)
    return simulate(tmp_path_factory.mktemp("heating"), options, progress=False)


# head_steps: the head refit (3000 steps by default) took 2/3 of this fixture; 300 still run it through
# `train`, and tests/nets/test_regressor.py checks what the refit does.
TINY_PLAN = """\
regressor: {width: 64, height: 48, epochs: 2, batch_size: 16, head_steps: 300}
forecast: {size: 64, ngf: 8, ndf: 8, depth: 6, epochs: 1, batch_size: 8}
"""


@pytest.fixture(scope="session")
def tiny_models(reference_run: SimulatedRun, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Both models, really trained by `furnace-monitor train` on the reference run, at toy sizes."""
    from monitor.cli import main

    out = tmp_path_factory.mktemp("models")
    plan = out / "tiny.yaml"
    plan.write_text(TINY_PLAN, encoding="utf-8")
    assert main(["train", str(reference_run.out), "-o", str(out), "--options", str(plan), "-q"]) == 0
    return out
