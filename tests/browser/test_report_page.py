"""The run report (report.html) in headless Chromium at 1280 px: every image loads, nothing is wider than
the window, and the console stays clean. Three reports: a simulated run's frames through the whole pipeline
(its screenshot is docs/report.png), the real run's (the shared table of channel means and its OCR
temperatures, through `analyze`), and the report tests' hand-built run (long flags, a run name to escape)
with the sample section drawn on a real frame."""

from dataclasses import replace
from pathlib import Path

import pytest

from monitor.analytics.locate import SampleFinding, SampleLocation
from monitor.analytics.outputs import write_outputs
from monitor.cli import main
from monitor.config.overlay import Box
from monitor.ingest.loader import usable_frames
from monitor.pipeline.batch import analyze_frames
from monitor.pipeline.session import ProcessorFactory
from monitor.report.html import write_report
from monitor.report.run_plots import write_plots
from monitor.simulate import SimulatedRun
from tests.browser.conftest import WIDTH, console_errors, screenshot_path
from tests.conftest import SHARED_DATA
from tests.report.test_report import make_result

# Every element's box against the window, and every image's load state.
LAYOUT = """
const width = document.documentElement.clientWidth;
const wide = [...document.querySelectorAll("body *")]
  .map(el => [el.tagName + (el.id ? "#" + el.id : ""), el.getBoundingClientRect()])
  .filter(([, r]) => r.right > width + 0.5 || r.left < -0.5)
  .map(([name, r]) => `${name} ${Math.round(r.left)}..${Math.round(r.right)}`);
const images = [...document.images].map(i => [i.alt, i.complete, i.naturalWidth]);
return {width, scroll: document.documentElement.scrollWidth, wide, images};
"""


def _analyzed_report(folder: Path, run: SimulatedRun, processors: ProcessorFactory) -> Path:
    result = analyze_frames(usable_frames(run.out), processors(), run="run1", progress=False)
    return write_outputs(folder, result)["report"]


def _real_report(folder: Path, _run: SimulatedRun, _processors: ProcessorFactory) -> Path:
    features = SHARED_DATA / "frame_channel_means.csv"
    temperatures = SHARED_DATA / "ocr_temperatures.csv"
    argv = ["analyze", "--features", str(features), "--temperatures", str(temperatures), "-o", str(folder)]
    assert main([*argv, "-q"]) == 0
    return folder / "report.html"


def _hand_built_report(folder: Path, run: SimulatedRun, _processors: ProcessorFactory) -> Path:
    x, y, w, h = run.sample_box
    location = SampleLocation(
        box=Box(x=x, y=y, width=w, height=h), method="texture", confidence=0.9,
        reason="the simulator's sample", frame_size=(320, 240),
    )  # fmt: skip
    frame = run.out / run.frames[len(run.frames) // 2].file
    result = replace(make_result(), sample=SampleFinding(location=location, check=None, frame=frame))
    return write_report(result, folder, write_plots(result, folder / "plots"))


@pytest.mark.parametrize(
    ("make", "name"), [(_analyzed_report, "report.png"), (_real_report, None), (_hand_built_report, None)]
)
def test_the_report_fits_1280_px_and_loads_everything(
    make, name: str | None, fast_run: SimulatedRun, processors: ProcessorFactory, browser: object,
    tmp_path: Path,
) -> None:  # fmt: skip
    report = make(tmp_path / "report", fast_run, processors)
    browser.get(report.as_uri())  # type: ignore[attr-defined]
    layout = browser.execute_script(LAYOUT)  # type: ignore[attr-defined]
    assert layout["width"] == WIDTH - _scrollbar(browser)
    assert layout["scroll"] <= WIDTH
    assert layout["wide"] == []
    assert len(layout["images"]) >= 5  # the plots (and the marked sample frame)
    assert all(complete and width > 0 for _, complete, width in layout["images"]), layout["images"]
    assert console_errors(browser) == []
    if name:
        _full_page_screenshot(browser, screenshot_path(tmp_path, name))


def _scrollbar(browser: object) -> int:
    return int(browser.execute_script("return window.innerWidth - document.documentElement.clientWidth"))  # type: ignore[attr-defined]


def _full_page_screenshot(browser: object, path: Path) -> None:
    """The report's top in a taller window: the title, the summary, the events, the health and the sample."""
    size = browser.get_window_size()  # type: ignore[attr-defined]
    browser.set_window_size(WIDTH, 1400)  # type: ignore[attr-defined]
    try:
        browser.save_screenshot(str(path))  # type: ignore[attr-defined]
    finally:
        browser.set_window_size(size["width"], size["height"])  # type: ignore[attr-defined]
