"""The service tests use the same real broker and database as the sink tests, and one short whole run."""

import pytest

from monitor.simulate import SimulatedRun, simulate
from tests.service.test_run_reports import FAST
from tests.sinks.conftest import mosquitto, mosquitto_factory  # noqa: F401


@pytest.fixture(scope="session")
def whole_run(tmp_path_factory: pytest.TempPathFactory) -> SimulatedRun:
    """A whole run in 220 frames of 320x240: melting, a short hold, fast cooling, crystallization start, its
    end (303 s) and the 25 s of flat texture after it that confirm the end; the auto exposure steps on the
    way. Every event a run has, through the real pipeline in seconds, not the reference run's minute."""
    options = FAST.model_copy(update={"seconds": 220})
    return simulate(tmp_path_factory.mktemp("whole"), options, progress=False)
