"""What the analytics sweep runs: the cameras (variants) and the furnace programmes with their seeds
(scenarios), the default ones and the probes kept out of tuning, and the simulation each pair makes.

A variant is one camera a real rig could have: another exposure, gain, white balance, lens, aim, frame size,
flicker and dropped seconds, alone and combined; a scenario is a programme and a seed.
"""

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

import numpy as np

from monitor.records import EventType
from monitor.simulate import FurnaceProfile, SimulationOptions
from monitor.simulate.options import CameraOptions
from monitor.simulate.profile import build_timeline, draw_kinetics


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

# Programmes kept out of the default sweep and out of tuning, to probe with (`--scenarios`): other ramps,
# peaks, liquidus, cooling rates and kinetics (crystallization slower, faster, longer, steeper), made at
# stop 33 and judged on after the fact. Their seeds are their own, so no reseeding reaches them.
PROBE_SCENARIOS: tuple[Scenario, ...] = (
    Scenario("slow-heat-long", 11000, FurnaceProfile(
        start_c=920, peak_c=1480, peak_at_s=260, hold_s=90, cool_rate_c_per_s=1.2, crystallization_c=1120,
        crystallization_duration_s=(100, 140))),
    Scenario("fast-cool-short", 11001, FurnaceProfile(
        peak_c=1520, peak_at_s=200, hold_s=70, cool_rate_c_per_s=4.0, crystallization_c=1000,
        crystallization_duration_s=(40, 60))),
    Scenario("low-liquidus-hot", 11002, FurnaceProfile(
        melt_start_c=980, melt_complete_c=1080, fully_molten_c=1250, peak_c=1400, peak_at_s=230, hold_s=110,
        crystallization_c=1150, ramp_shape=1.6)),
    Scenario("steep-kinetics", 11003, FurnaceProfile(
        avrami_n=(3.5, 4.0), crystallization_duration_s=(60, 80))),
    Scenario("quick-ramp-hot", 12000, FurnaceProfile(
        start_c=950, peak_c=1550, peak_at_s=190, hold_s=120, cool_rate_c_per_s=2.5, fully_molten_c=1400,
        crystallization_c=1080)),
    Scenario("slow-cool-long", 12001, FurnaceProfile(
        cool_rate_c_per_s=0.8, crystallization_c=1150, crystallization_duration_s=(110, 150),
        avrami_n=(1.6, 2.4))),
    Scenario("low-peak-linear", 12002, FurnaceProfile(
        peak_c=1420, fully_molten_c=1300, melt_start_c=1000, melt_complete_c=1100, crystallization_c=1000,
        hold_s=150, ramp_shape=1.0)),
    Scenario("jittery-fast", 12003, FurnaceProfile(
        cool_rate_c_per_s=3.5, crystallization_jitter_c=30, avrami_n=(2.5, 3.5),
        crystallization_duration_s=(50, 75), ramp_shape=2.0)),
)  # fmt: skip


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
    detectors were never tuned on. The seed goes into the name, so a working folder never mixes them. The
    probe programmes keep theirs."""
    if offset == 0:
        return list(scenarios)
    return [
        s if s in PROBE_SCENARIOS else Scenario(f"{s.name}-seed{s.seed + offset}", s.seed + offset, s.profile)
        for s in scenarios
    ]


def true_time(profile: FurnaceProfile, seed: int, kind: EventType) -> float:
    """When an event happens in the run the simulator draws for this programme and seed."""
    kinetics = draw_kinetics(profile, np.random.default_rng([seed, 1]))
    return float(build_timeline(profile, kinetics, np.arange(110, 2000)).events[kind])


def scenario_options(s: Scenario) -> SimulationOptions:
    """From 110 s to 25 s after the true crystallization end."""
    end = true_time(s.profile, s.seed, EventType.CRYSTALLIZATION_END)
    return SimulationOptions(seed=s.seed, profile=s.profile, start=110, seconds=int(end) + 25 - 110)


def select(names: Iterable[str] | None, known: Sequence[Variant] | Sequence[Scenario], what: str) -> list:
    """The named items of `known` (all when names is None); an unknown name is a ValueError listing them."""
    if names is None:
        return list(known)
    by_name = {k.name: k for k in known}
    unknown = [n for n in names if n not in by_name]
    if unknown:
        raise ValueError(f"unknown {what} {', '.join(unknown)}; known: {', '.join(by_name)}")
    return [by_name[n] for n in names]
