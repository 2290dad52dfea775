"""The furnace programme and the sample's behaviour: what 1# reads and what state the sample is in.

Defaults reproduce the real reference run (shared/data/apmcm2022a): 1# from 900 degC at 110 s, rising with a
slightly decreasing slope to 1500 degC at 222 s, held until 321 s, then cooled at ~2 degC/s to ~812 degC at
671 s; crystallization starts near 1052 degC (548 s).
"""

import math
from dataclasses import dataclass
from typing import Literal

import numpy as np
from pydantic import BaseModel, ConfigDict, Field, model_validator

from monitor.records import EventType, Stage
from monitor.stages import paper_progress, stage_at


class FurnaceProfile(BaseModel):
    """The temperature programme of 1# and the sample's transition temperatures."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    start_c: float = Field(900.0, ge=20, le=1400, description="1# at ramp start, degC.")
    ramp_start_s: float = Field(110.0, ge=0, description="Run time the heating ramp starts, s.")
    peak_c: float = Field(1500.0, ge=1000, le=1700, description="Hold temperature, degC.")
    peak_at_s: float = Field(222.0, gt=0, description="Run time the peak is reached, s.")
    hold_s: float = Field(99.0, ge=0, le=3600, description="Hold at the peak, s.")
    cool_rate_c_per_s: float = Field(1.97, gt=0.1, le=50, description="Linear cooling rate, degC/s.")
    ramp_shape: float = Field(
        1.15, ge=1.0, le=3.0, description="1 = linear ramp; larger = faster at first, slower near the peak."
    )
    floor_c: float = Field(700.0, ge=20, le=1200, description="Cooling stops at this temperature, degC.")
    melt_start_c: float = Field(1008.0, ge=500, le=1600, description="The powder starts to melt, degC.")
    melt_complete_c: float = Field(1127.0, ge=500, le=1600, description="No solid left, degC.")
    fully_molten_c: float = Field(1368.0, ge=500, le=1650, description="The turbid melt turns clear, degC.")
    crystallization_c: float = Field(
        1053.0, ge=500, le=1600, description="Crystals nucleate when cooling reaches this, degC."
    )
    crystallization_jitter_c: float = Field(
        0.0, ge=0, le=100, description="Per-seed random shift of crystallization_c, +-degC."
    )
    avrami_n: tuple[float, float] = Field(
        (1.8, 3.2), description="Range the Avrami exponent n is drawn from (per seed)."
    )
    crystallization_duration_s: tuple[float, float] = Field(
        (75.0, 105.0),
        description="Range of the time from crystallization start to its end (97 % crystalline), s.",
    )
    crystallization_end: Literal["snap", "smooth"] = Field(
        "snap",
        description="snap = the last liquid pockets freeze at once when the fraction reaches 97 %; smooth = "
        "the Avrami curve just continues (the end is still its 97 % crossing).",
    )

    @model_validator(mode="after")
    def _consistent(self) -> "FurnaceProfile":
        if self.peak_at_s <= self.ramp_start_s:
            raise ValueError("peak_at_s must come after ramp_start_s")
        if not self.start_c < self.melt_start_c < self.melt_complete_c < self.fully_molten_c < self.peak_c:
            raise ValueError("need start_c < melt_start_c < melt_complete_c < fully_molten_c < peak_c")
        if not self.floor_c < self.crystallization_c < self.fully_molten_c:
            raise ValueError("need floor_c < crystallization_c < fully_molten_c")
        for name in ("avrami_n", "crystallization_duration_s"):
            lo, hi = getattr(self, name)
            if not 0 < lo <= hi:
                raise ValueError(f"{name} must be a range 0 < low <= high")
        return self

    @property
    def cooling_start_s(self) -> float:
        return self.peak_at_s + self.hold_s

    def t1(self, t: np.ndarray) -> np.ndarray:
        """The programme temperature of 1# at run times t (s)."""
        t = np.asarray(t, dtype=float)
        u = np.clip((t - self.ramp_start_s) / (self.peak_at_s - self.ramp_start_s), 0.0, 1.0)
        heating = self.start_c + (self.peak_c - self.start_c) * (1.0 - (1.0 - u) ** self.ramp_shape)
        cooled = self.peak_c - self.cool_rate_c_per_s * np.maximum(t - self.cooling_start_s, 0.0)
        return np.where(t < self.cooling_start_s, heating, np.maximum(cooled, self.floor_c))


@dataclass(frozen=True, slots=True)
class Kinetics:
    """The crystallization law drawn for one run: X = 1 - exp(-k tau^n), tau = time since start."""

    crystallization_c: float
    n: float
    k: float

    def fraction(self, tau: np.ndarray) -> np.ndarray:
        tau = np.maximum(np.asarray(tau, dtype=float), 0.0)
        return 1.0 - np.exp(-self.k * tau**self.n)


# Crystallization ends once this fraction is crystalline: the last liquid pockets between the grains then
# freeze together (the rest of the fraction snaps to 1), which an observer sees as the end.
END_FRACTION = 0.97


def draw_kinetics(profile: FurnaceProfile, rng: np.random.Generator) -> Kinetics:
    """Draw this run's Avrami n, k and crystallization temperature."""
    n = float(rng.uniform(*profile.avrami_n))
    duration = float(rng.uniform(*profile.crystallization_duration_s))
    k = -math.log(1.0 - END_FRACTION) / duration**n
    shift = float(rng.uniform(-1.0, 1.0)) * profile.crystallization_jitter_c
    return Kinetics(crystallization_c=profile.crystallization_c + shift, n=n, k=k)


@dataclass(frozen=True, slots=True)
class Timeline:
    """Per-frame physical state of one run (arrays indexed like `times`) and the true event times."""

    times: np.ndarray  # run time of each frame, s (integers)
    t1: np.ndarray  # programme temperature of 1#, degC
    stage: list[Stage]
    melt: np.ndarray  # 0..1, share of the powder turned liquid
    clarity: np.ndarray  # 0..1, how clear the liquid is
    fraction: np.ndarray  # 0..1, crystalline fraction (Avrami)
    nucleated: np.ndarray  # bool: crystals have nucleated (the melt has turned cloudy)
    progress_pct: np.ndarray  # the reference paper's label: i/N x 100 over the crystallizing stage
    events: dict[EventType, float]  # event -> run time (s); missing if the run does not reach it
    cooling_start_s: float
    kinetics: Kinetics


def build_timeline(profile: FurnaceProfile, kinetics: Kinetics, times: np.ndarray) -> Timeline:
    """Work out stage, melt, clarity and crystalline fraction for each frame time."""
    times = np.asarray(times, dtype=float)
    # Events are found on a fine grid over the whole programme, not only the recorded window.
    grid = np.arange(0.0, max(times.max(), profile.cooling_start_s) + 3600.0, 1.0)
    t1_grid = profile.t1(grid)
    heating = grid < profile.cooling_start_s
    cooling = ~heating

    def first(mask: np.ndarray) -> float | None:
        idx = np.flatnonzero(mask)
        return float(grid[idx[0]]) if idx.size else None

    events: dict[EventType, float] = {}
    marks = {
        EventType.MELTING_START: first(heating & (t1_grid >= profile.melt_start_c)),
        EventType.MELTING_COMPLETE: first(heating & (t1_grid >= profile.melt_complete_c)),
        EventType.FULLY_MOLTEN: first(heating & (t1_grid >= profile.fully_molten_c)),
        EventType.CRYSTALLIZATION_START: first(cooling & (t1_grid <= kinetics.crystallization_c)),
    }
    events.update({k: v for k, v in marks.items() if v is not None})
    t_cs = events.get(EventType.CRYSTALLIZATION_START)
    if t_cs is not None:
        end = first((grid >= t_cs) & (kinetics.fraction(grid - t_cs) >= END_FRACTION))
        if end is not None:
            events[EventType.CRYSTALLIZATION_END] = end

    t1 = profile.t1(times)
    inf = math.inf
    t_ms = events.get(EventType.MELTING_START, inf)
    t_mc = events.get(EventType.MELTING_COMPLETE, inf)
    t_fm = events.get(EventType.FULLY_MOLTEN, inf)
    t_cs = events.get(EventType.CRYSTALLIZATION_START, inf)
    t_ce = events.get(EventType.CRYSTALLIZATION_END, inf)

    melt = np.clip((t1 - profile.melt_start_c) / (profile.melt_complete_c - profile.melt_start_c), 0, 1)
    melt = np.where(times >= t_mc, 1.0, np.where(times < t_ms, 0.0, melt))
    # Bubbles leave the melt slowly, then it clears at once: the operator's "fully molten".
    clarity = 0.3 * np.clip(
        (t1 - profile.melt_complete_c) / (profile.fully_molten_c - profile.melt_complete_c), 0, 1
    )
    clarity = np.where(times >= t_fm, 1.0, np.where(times < t_mc, 0.0, clarity))
    fraction = np.where(times >= t_cs, kinetics.fraction(times - t_cs), 0.0) if t_cs < inf else 0 * times
    if profile.crystallization_end == "snap":
        fraction = np.where(times >= t_ce, 1.0, fraction)
    progress = paper_progress(
        times, events.get(EventType.CRYSTALLIZATION_START), events.get(EventType.CRYSTALLIZATION_END)
    )

    cooling_start = profile.cooling_start_s
    stage = [stage_at(t, events, cooling_start) for t in times]
    return Timeline(
        times=times,
        t1=t1,
        stage=stage,
        melt=melt,
        clarity=clarity,
        fraction=fraction,
        nucleated=times >= t_cs,
        progress_pct=progress,
        events=events,
        cooling_start_s=cooling_start,
        kinetics=kinetics,
    )
