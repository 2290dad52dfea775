"""The default simulated run looks like the real one: stage levels and the camera's steps and glints."""

from pathlib import Path

import numpy as np
import pytest

from monitor.simulate import SimulationOptions, simulate
from monitor.simulate.calibration import (
    Series,
    SeriesStats,
    comparison_table,
    find_jumps,
    plot,
    read_real_series,
    read_run_series,
    series_stats,
)
from tests.conftest import SHARED_DATA


@pytest.fixture(scope="module")
def real() -> SeriesStats:
    return series_stats(read_real_series(SHARED_DATA / "frame_channel_means.csv"))


@pytest.fixture(scope="module")
def small_default_run(tmp_path_factory: pytest.TempPathFactory) -> Series:
    """The default run (seed 0) at 320x240: its means agree with full size within a few grey levels."""
    options = SimulationOptions(width=320, height=240, workers=1)
    return read_run_series(simulate(tmp_path_factory.mktemp("default"), options, progress=False).out)


def medians(stats: SeriesStats) -> tuple[float, float, float]:
    steps = stats.cooling_steps()
    return (
        float(np.median([s.size for s in steps])),
        float(np.median([s.fired_at for s in steps])),
        float(np.median([s.settle_frames for s in steps])),
    )


def test_the_real_run_has_exposure_steps_and_glints(real: SeriesStats) -> None:
    """What the detector finds in the real series (the issue's reading of it)."""
    steps = real.cooling_steps()
    assert [s.time_s for s in steps if s.time_s > 400] == [409, 444, 468, 498, 509, 539, 627]
    assert 68 <= medians(real)[1] <= 74
    assert 355 in real.glints


def test_jumps_tell_steps_from_glints() -> None:
    times = np.arange(40)
    fall = 90 - 0.6 * np.arange(40.0)
    stepped = fall + np.where(times >= 20, 18.0, 0.0)
    glinting = fall + np.where((times >= 20) & (times < 23), 18.0, 0.0)
    steps, glints = find_jumps(stepped, times)
    assert [(s.time_s, s.settle_frames) for s in steps] == [(19, 1)] and glints == []
    assert steps[0].fired_at == pytest.approx(fall[19])
    steps, glints = find_jumps(glinting, times)
    assert steps == [] and glints == [20]


def test_default_run_matches_the_real_camera(real: SeriesStats, small_default_run: Series) -> None:
    sim = series_stats(small_default_run)
    print(comparison_table(real, sim))
    assert abs(len(sim.cooling_steps()) - len(real.cooling_steps())) <= 2
    (real_size, real_fired, real_settle), (size, fired, settle) = medians(real), medians(sim)
    assert size == pytest.approx(real_size, rel=0.3)
    assert fired == pytest.approx(real_fired, abs=3)
    assert settle == pytest.approx(real_settle, abs=1)
    assert 1 <= len(sim.glints) <= 2 * len(real.glints) + 2
    for name, level in sim.levels.as_dict().items():
        assert level == pytest.approx(real.levels.as_dict()[name], rel=0.12), name


def test_fixed_exposure_has_no_steps(real: SeriesStats, tmp_path: Path) -> None:
    """Without auto exposure the cooling scene just dims: the steps are the camera's, not the scene's."""
    options = SimulationOptions(width=320, height=240, workers=1, start=330, seconds=342)
    options = options.model_copy(update={"camera": options.camera.model_copy(update={"exposure": "fixed"})})
    sim = read_run_series(simulate(tmp_path, options, progress=False).out)
    steps, _ = find_jumps(sim.mean, sim.times)
    assert steps == []
    assert sim.mean[-10:].mean() < 0.5 * real.levels.end


def test_plot_is_written(real: SeriesStats, small_default_run: Series, tmp_path: Path) -> None:
    out = tmp_path / "calibration.png"
    plot(read_real_series(SHARED_DATA / "frame_channel_means.csv"), small_default_run, out)
    assert out.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
