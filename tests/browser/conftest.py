"""Headless Chromium (Debian's `chromium`) driven by Selenium through Debian's `chromium-driver`: nothing is
downloaded (Selenium Manager stays off). Missing on CI is a failure (tests/services.require_binary)."""

import os
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from monitor.config import parse_config
from monitor.pipeline.process import processor_factory
from monitor.pipeline.session import ProcessorFactory
from monitor.simulate import SimulatedRun, SimulationOptions, simulate
from monitor.simulate.profile import FurnaceProfile
from tests.services import require_binary
from tests.sinks.conftest import mosquitto, mosquitto_factory  # noqa: F401

WIDTH = 1280
FLAGS = (
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
    "--disable-dev-shm-usage", f"--window-size={WIDTH},1000",
)  # fmt: skip


@pytest.fixture(scope="module")
def browser() -> Iterator[object]:
    """A fresh headless Chromium (own profile folder) that records the page's console."""
    chromium = require_binary(Path("/usr/bin/chromium"), "chromium")
    driver_path = require_binary(Path("/usr/bin/chromedriver"), "chromium-driver")
    os.environ["SE_OFFLINE"] = "true"  # Selenium Manager must not look for a browser or driver online
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = str(chromium)
    for flag in FLAGS:
        options.add_argument(flag)
    with tempfile.TemporaryDirectory(prefix="furnace-chromium-") as profile:
        options.add_argument(f"--user-data-dir={profile}")
        options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
        driver = webdriver.Chrome(service=Service(str(driver_path)), options=options)
        try:
            yield driver
        finally:
            driver.quit()


def console_errors(driver: object) -> list[str]:
    """The console's errors since the last call (a failed load, an exception, a console.error)."""
    return [e["message"] for e in driver.get_log("browser") if e["level"] == "SEVERE"]  # type: ignore[attr-defined]


def screenshot_path(tmp_path: Path, name: str) -> Path:
    """docs/<name> when FURNACE_SCREENSHOTS names a folder (e.g. docs), else the test's own folder: a plain
    test run never dirties the checkout."""
    folder = os.environ.get("FURNACE_SCREENSHOTS")
    return Path(folder) / name if folder else tmp_path / name


# A whole run squeezed into 120 s (melting, a short hold, fast cooling): all four events of a live run,
# the crystallization alert included, at 215 s; 320x240 frames take ~60 ms each through the daemon.
FAST_PROFILE = FurnaceProfile(peak_at_s=160.0, hold_s=10.0, cool_rate_c_per_s=10.0)
FAST_OPTIONS = SimulationOptions(
    seconds=120, start=110, width=320, height=240, seed=3, workers=1, profile=FAST_PROFILE
)


@pytest.fixture(scope="session")
def processors() -> ProcessorFactory:
    """The default pipeline, its OCR engines loaded once for the daemon and the report (the costly part)."""
    return processor_factory(parse_config({}, env={}))


@pytest.fixture(scope="session")
def fast_run(tmp_path_factory: pytest.TempPathFactory) -> SimulatedRun:
    return simulate(tmp_path_factory.mktemp("fast-run"), FAST_OPTIONS, progress=False)
