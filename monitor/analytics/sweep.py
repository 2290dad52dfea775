"""The analytics acceptance sweep: five simulated runs with different programmes and seeds, each analysed
through the whole pipeline and compared with its true events and its unreliable thermocouple."""

import json
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np

from monitor.analytics.analyze import analyze_frames
from monitor.analytics.detector import Observation, StageDetector
from monitor.analytics.features import FeatureExtractor
from monitor.analytics.result import AnalysisResult
from monitor.ingest.loader import list_frames
from monitor.pipeline.process import FrameProcessor
from monitor.records import EventType, read_events
from monitor.simulate import FurnaceProfile, SimulationOptions, simulate
from monitor.simulate.profile import build_timeline, draw_kinetics

# Largest |time error| allowed per event (s); melting_start has no target, only "found".
TOLERANCE_S = {
    EventType.MELTING_COMPLETE: 3.0,
    EventType.FULLY_MOLTEN: 3.0,
    EventType.CRYSTALLIZATION_START: 3.0,
    EventType.CRYSTALLIZATION_END: 5.0,
}


@dataclass(frozen=True, slots=True)
class Scenario:
    name: str
    seed: int
    profile: FurnaceProfile


SCENARIOS: tuple[Scenario, ...] = (
    Scenario("reference", 0, FurnaceProfile()),
    Scenario("hot-fast-cooling", 1, FurnaceProfile(peak_c=1450, cool_rate_c_per_s=3.0, hold_s=80)),
    Scenario("short-hold-slow", 2, FurnaceProfile(start_c=950, hold_s=60, cool_rate_c_per_s=1.5)),
    Scenario("late-peak-low-tc", 3, FurnaceProfile(peak_c=1550, peak_at_s=240, crystallization_c=1020)),
    Scenario(
        "cold-start-jitter",
        4,
        FurnaceProfile(start_c=880, cool_rate_c_per_s=2.5, crystallization_jitter_c=20),
    ),
)


def scenario_options(s: Scenario) -> SimulationOptions:
    """From 110 s to 25 s after the true crystallization end."""
    kinetics = draw_kinetics(s.profile, np.random.default_rng([s.seed, 1]))
    timeline = build_timeline(s.profile, kinetics, np.arange(110, 2000))
    end = timeline.events[EventType.CRYSTALLIZATION_END]
    return SimulationOptions(seed=s.seed, profile=s.profile, start=110, seconds=int(end) + 25 - 110)


@dataclass(frozen=True, slots=True)
class ScenarioResult:
    scenario: Scenario
    errors: dict[EventType, float | None]  # detected - true time; None = missed
    false_events: list[str]
    unreliable: list[str]
    result: AnalysisResult
    true_n: float  # the simulator's Avrami exponent, to compare with result.summary.avrami

    @property
    def passed(self) -> bool:
        timed = all(
            e is not None and abs(e) <= TOLERANCE_S.get(k, float("inf")) for k, e in self.errors.items()
        )
        return timed and not self.false_events and self.unreliable == ["2#"]


def run_sweep(
    out: Path, build: Callable[[], FrameProcessor], *, progress: bool = False
) -> list[ScenarioResult]:
    results = []
    for s in SCENARIOS:
        folder = out / s.name
        options = scenario_options(s)
        if not (folder / "truth.csv").is_file() or len(list_frames(folder)) != options.seconds:
            simulate(folder, options, progress=progress)
        truth = {e.type: e.time_s for e in read_events(folder / "events.json")}
        true_n = json.loads((folder / "events.json").read_text(encoding="utf-8"))["avrami"]["n"]
        result = analyze_frames(list_frames(folder), build(), run=s.name, progress=progress)
        found = {e.type: e.time_s for e in result.events}
        errors = {k: (found[k] - t if k in found else None) for k, t in truth.items()}
        false = [f"{k} at {t:g} s" for k, t in found.items() if k not in truth]
        unreliable = [h.name for h in result.health if not h.reliable]
        results.append(ScenarioResult(s, errors, false, unreliable, result, true_n))
    return results


def features_and_stages_rate(folder: Path, extractor: FeatureExtractor) -> float:
    """Frames per second of feature extraction + stage detection alone (frames decoded beforehand)."""
    images = [cv2.imread(str(p)) for p in list_frames(folder)]
    extractor.new_run()
    detector = StageDetector()
    started = time.perf_counter()
    for i, image in enumerate(images):
        f = extractor.extract(image)
        detector.update(Observation.of(float(i), str(i), f, None))
    return len(images) / (time.perf_counter() - started)


def format_sweep(results: list[ScenarioResult]) -> str:
    kinds = list(EventType)
    head = (
        "scenario            " + " ".join(f"{k.value[:18]:>19}" for k in kinds) + "  false  unreliable  pass"
    )
    lines = [head]
    for r in results:
        cells = " ".join(
            f"{'missed' if (e := r.errors.get(k)) is None else f'{e:+.0f} s':>19}" for k in kinds
        )
        fit = r.result.summary.avrami
        n = "-" if fit is None else f"{fit.n:.2f}"
        lines.append(
            f"{r.scenario.name:<19} {cells}  {len(r.false_events):>5}  {','.join(r.unreliable) or '-':>10}"
            f"  {n:>8} ({r.true_n:.2f})  {'yes' if r.passed else 'NO'}"
        )
    lines.append(f"{sum(r.passed for r in results)}/{len(results)} scenarios within the targets")
    return "\n".join(lines)


def sweep_json(results: list[ScenarioResult]) -> str:
    return json.dumps(
        [
            {
                "scenario": r.scenario.name,
                "errors_s": {str(k): e for k, e in r.errors.items()},
                "false_events": r.false_events,
                "unreliable": r.unreliable,
                "avrami_n": None if r.result.summary.avrami is None else r.result.summary.avrami.n,
                "true_avrami_n": r.true_n,
                "passed": r.passed,
            }
            for r in results
        ],
        indent=2,
    )
