"""The analytics acceptance sweep: simulated runs seen through other cameras, each analysed through the
whole pipeline (OCR included) and compared with its true events and its unreliable thermocouple.

A variant is one camera a real rig could have: another exposure, gain, white balance, lens, aim, frame size,
flicker and dropped seconds, alone and combined; a scenario is a programme and a seed. A run passes when
every true event is found within its tolerance, nothing else is found, and 2# is the unreliable one.
"""

import json
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import cv2
import numpy as np

from monitor.analytics.detector import Observation, StageDetector
from monitor.analytics.features import FeatureExtractor
from monitor.analytics.result import AnalysisResult
from monitor.ingest.loader import list_frames
from monitor.pipeline.batch import analyze_frames
from monitor.pipeline.process import FrameProcessor
from monitor.records import EventType, read_events
from monitor.simulate import FurnaceProfile, SimulationOptions, simulate
from monitor.simulate.options import CameraOptions
from monitor.simulate.profile import build_timeline, draw_kinetics

# Largest |time error| allowed per event (s), as issue 13 sets them.
TOLERANCE_S = {
    EventType.MELTING_START: 3.0,
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


@dataclass(frozen=True, slots=True)
class Variant:
    """One camera (and how the sample ends crystallizing); None keeps the simulator's default."""

    name: str
    camera: CameraOptions = field(default_factory=CameraOptions)
    size: tuple[int, int] | None = None
    noise_sigma: float | None = None
    smooth_end: bool = False
    # The recording begins this many seconds after a true event (a camera started late): the events before
    # it are not in it.
    begins_after: tuple[EventType, float] | None = None

    @property
    def liquidus_configured(self) -> bool:
        """Begun after fully_molten, the run cannot show its liquidus: the operator sets the flux's
        (analytics.liquidus_c) for crystallization."""
        heating = (EventType.MELTING_START, EventType.MELTING_COMPLETE)
        return self.begins_after is not None and self.begins_after[0] not in heating

    def options(self, base: SimulationOptions) -> SimulationOptions:
        update: dict[str, object] = {"camera": self.camera}
        if self.begins_after is not None:
            kind, after_s = self.begins_after
            start = int(true_time(base.profile, base.seed, kind) + after_s)
            update["start"], update["seconds"] = start, base.start + base.seconds - start
        if self.smooth_end:
            update["profile"] = base.profile.model_copy(update={"crystallization_end": "smooth"})
        if self.size is not None:
            update["width"], update["height"] = self.size
        if self.noise_sigma is not None:
            update["noise_sigma"] = self.noise_sigma
        return SimulationOptions.model_validate({**base.model_dump(), **update})


_STEADY = {"exposure": "fixed", "glint_rate": 0.0}
VARIANTS: tuple[Variant, ...] = (
    Variant("fixed-exposure", CameraOptions(**_STEADY)),
    Variant("auto-exposure", CameraOptions()),
    Variant("gain-white-balance", CameraOptions(gain=0.75, white_balance=(1.25, 1.0, 0.85))),
    Variant("soft-noisy-lens", CameraOptions(blur_sigma=2.0), noise_sigma=5.0),
    Variant("flicker-dropped", CameraOptions(flicker=0.04, dropped_rate=0.01)),
    Variant("aimed-off", CameraOptions(offset=(70, -45))),
    Variant("zoomed", CameraOptions(scale=1.25, offset=(-40, 20))),
    Variant("large-frame", CameraOptions(), size=(1280, 960)),
    Variant("smooth-end", CameraOptions(), smooth_end=True),
    Variant(
        "everything",
        CameraOptions(
            gain=0.85,
            white_balance=(1.15, 1.0, 0.9),
            blur_sigma=1.5,
            flicker=0.03,
            dropped_rate=0.01,
            offset=(-50, 30),
            scale=0.9,
        ),
        noise_sigma=4.0,
        smooth_end=True,
    ),
)
# Cameras kept out of the default sweep and out of tuning, to probe with (`--variants`): the detectors were
# judged on them after the fact (the first four on seeds 3000-3004, the next six on 4000-4004, the next four
# on 7000-7004; late-start, a recording begun in the hold, was made at stop 31).
PROBES: tuple[Variant, ...] = (
    Variant("slow-settle", CameraOptions(ae_settle_frames=(5, 8))),
    Variant("narrow-ae", CameraOptions(ae_low=85.0, ae_high=150.0, ae_target=110.0)),
    Variant("dim-gain", CameraOptions(gain=0.5, flicker=0.02, blur_sigma=1.0), noise_sigma=3.0),
    Variant("long-glints", CameraOptions(glint_rate=1 / 60, glint_frames=(3, 6))),
    Variant("heavy-blur", CameraOptions(blur_sigma=3.0), noise_sigma=3.0),
    Variant("small-sample", CameraOptions(scale=0.75, offset=(30, -20))),
    Variant("strong-flicker", CameraOptions(flicker=0.06)),
    Variant("bright-gain", CameraOptions(gain=1.6, white_balance=(0.9, 1.0, 1.2))),
    Variant("noisy", CameraOptions(), noise_sigma=8.0),
    Variant("frequent-glints", CameraOptions(glint_rate=1 / 40)),
    Variant("small-frame", CameraOptions(), size=(320, 240)),
    Variant("vga", CameraOptions(), size=(640, 480)),
    Variant("offset-far", CameraOptions(offset=(110, 70), scale=1.1)),
    Variant("dim-noisy", CameraOptions(gain=0.6), noise_sigma=6.0),
    Variant("late-start", CameraOptions(), begins_after=(EventType.FULLY_MOLTEN, 40.0)),
    Variant("mid-melt-start", CameraOptions(), begins_after=(EventType.MELTING_START, 8.0)),
)


def reseeded(scenarios: Sequence[Scenario], offset: int) -> list[Scenario]:
    """The same programmes with other seeds (other kinetics, crystals, noise and camera draws): runs the
    detectors were never tuned on. The seed goes into the name, so a working folder never mixes them."""
    if offset == 0:
        return list(scenarios)
    return [Scenario(f"{s.name}-seed{s.seed + offset}", s.seed + offset, s.profile) for s in scenarios]


def true_time(profile: FurnaceProfile, seed: int, kind: EventType) -> float:
    """When an event happens in the run the simulator draws for this programme and seed."""
    kinetics = draw_kinetics(profile, np.random.default_rng([seed, 1]))
    return float(build_timeline(profile, kinetics, np.arange(110, 2000)).events[kind])


def scenario_options(s: Scenario) -> SimulationOptions:
    """From 110 s to 25 s after the true crystallization end."""
    end = true_time(s.profile, s.seed, EventType.CRYSTALLIZATION_END)
    return SimulationOptions(seed=s.seed, profile=s.profile, start=110, seconds=int(end) + 25 - 110)


@dataclass(frozen=True, slots=True)
class ScenarioResult:
    variant: str
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


def select(names: Iterable[str] | None, known: Sequence[Variant] | Sequence[Scenario], what: str) -> list:
    """The named items of `known` (all when names is None); an unknown name is a ValueError listing them."""
    if names is None:
        return list(known)
    by_name = {k.name: k for k in known}
    unknown = [n for n in names if n not in by_name]
    if unknown:
        raise ValueError(f"unknown {what} {', '.join(unknown)}; known: {', '.join(by_name)}")
    return [by_name[n] for n in names]


def run_sweep(
    out: Path, build: Callable[[float | None], FrameProcessor], *, variants: Sequence[Variant] = VARIANTS,
    scenarios: Sequence[Scenario] = SCENARIOS, progress: bool = False, workers: int = 0,
) -> list[ScenarioResult]:  # fmt: skip
    results = []
    for v in variants:
        for s in scenarios:
            folder = out / v.name / s.name
            options = v.options(scenario_options(s)).model_copy(update={"workers": workers})
            if not _complete(folder):
                simulate(folder, options, progress=progress)
            # build(liquidus): a pipeline that knows the flux's liquidus (None: the config's, as it is)
            liquidus = s.profile.fully_molten_c if v.liquidus_configured else None
            results.append(score_run(folder, build(liquidus), variant=v.name, scenario=s, progress=progress))
    return results


def _complete(folder: Path) -> bool:
    """A run written before (frames as many as truth.csv rows): reused, since seeds make it identical."""
    truth = folder / "truth.csv"
    if not truth.is_file() or not (folder / "events.json").is_file():
        return False
    rows = len(truth.read_text(encoding="utf-8").splitlines()) - 1
    return rows == len(list_frames(folder))


def score_run(
    folder: Path, processor: FrameProcessor, *, variant: str, scenario: Scenario, progress: bool = False
) -> ScenarioResult:
    truth = {e.type: e.time_s for e in read_events(folder / "events.json")}
    true_n = json.loads((folder / "events.json").read_text(encoding="utf-8"))["avrami"]["n"]
    run = f"{variant}/{scenario.name}"
    result = analyze_frames(list_frames(folder), processor, run=run, progress=progress)
    found = {e.type: e.time_s for e in result.events}
    errors = {k: (found[k] - t if k in found else None) for k, t in truth.items()}
    false = [f"{k} at {t:g} s" for k, t in found.items() if k not in truth]
    unreliable = [h.name for h in result.health if not h.reliable]
    return ScenarioResult(variant, scenario, errors, false, unreliable, result, true_n)


def features_and_stages_rate(folder: Path, extractor: FeatureExtractor) -> float:
    """Frames per second of feature extraction + stage detection alone (frames decoded beforehand)."""
    images = [cv2.imread(str(p)) for p in list_frames(folder)]
    extractor.new_run()
    detector = StageDetector()
    started = time.perf_counter()
    for i, image in enumerate(images):
        f = extractor.extract(image)
        detector.revise(extractor.camera.take_revisions())
        detector.update(Observation.of(float(i), str(i), f, None, extractor.sample_pixels))
    return len(images) / (time.perf_counter() - started)


def format_sweep(results: list[ScenarioResult]) -> str:
    """One row per run, then one per variant: runs passed, the worst |error| of each event, false events."""
    kinds = list(EventType)
    short = {k: k.value.replace("crystallization", "cryst").replace("melting", "melt") for k in kinds}
    wide = max([18, *(len(r.scenario.name) for r in results)])  # reseeded names are longer
    head = f"{'variant':<19} {'scenario':<{wide}} " + " ".join(f"{short[k]:>14}" for k in kinds)
    lines = [head + "  false  unreliable  avrami n (true)  pass"]
    for r in results:
        # "-": the event is not in the run (a recording begun after it); "missed": it is, and was not found
        cells = " ".join(f"{_error(r.errors[k]) if k in r.errors else '-':>14}" for k in kinds)
        fit = r.result.summary.avrami
        n = "-" if fit is None else f"{fit.n:.2f}"
        lines.append(
            f"{r.variant:<19} {r.scenario.name:<{wide}} {cells}  {len(r.false_events):>5}"
            f"  {','.join(r.unreliable) or '-':>10}  {n:>8} ({r.true_n:.2f})  {'yes' if r.passed else 'NO'}"
        )
    lines += ["", f"{'variant':<19} {'runs passed':>11} " + " ".join(f"{short[k]:>14}" for k in kinds)]
    for variant in dict.fromkeys(r.variant for r in results):
        rows = [r for r in results if r.variant == variant]
        worst = []
        for k in kinds:
            errs = [r.errors.get(k) for r in rows if k in r.errors]
            missed = sum(e is None for e in errs)
            timed = [abs(e) for e in errs if e is not None]
            cell = f"max {max(timed):.0f} s" if timed else "-"
            worst.append(f"{cell + (f' {missed} miss' if missed else ''):>14}")
        passed = f"{sum(r.passed for r in rows)}/{len(rows)}"
        false = sum(len(r.false_events) for r in rows)
        lines.append(f"{variant:<19} {passed:>11} " + " ".join(worst) + f"  false {false}")
    lines.append(f"{sum(r.passed for r in results)}/{len(results)} runs within the targets")
    return "\n".join(lines)


def _error(e: float | None) -> str:
    return "missed" if e is None else f"{e:+.0f} s"


def sweep_json(results: list[ScenarioResult]) -> str:
    return json.dumps(
        [
            {
                "variant": r.variant,
                "scenario": r.scenario.name,
                "errors_s": {str(k): e for k, e in r.errors.items()},
                "false_events": r.false_events,
                "not_found": [m.to_json() for m in r.result.missed],
                "unreliable": r.unreliable,
                "avrami_n": None if r.result.summary.avrami is None else r.result.summary.avrami.n,
                "true_avrami_n": r.true_n,
                "passed": r.passed,
            }
            for r in results
        ],
        indent=2,
    )
