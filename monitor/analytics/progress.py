"""Crystallization progress, the reference paper's i/N, estimated live from the run's history.

One picture shows the crystalline fraction X, not the share of the crystallizing time i/N; between the two
lies the run's own kinetics. For X = 0.5, i/N is 0.41 at Avrami n = 1.8 and 0.60 at n = 3.2, so a model that
reads one frame cannot be within 3 pp over the kinetics real fluxes have. The run's history closes the gap:
- Before the melt cools nothing crystallizes (heating, melting, the hold): 0 %. Solid: 100 %.
- From crystallization_start on, the online fraction since the start is fitted with JMAK/Avrami,
  X = 1 - exp(-k t^n) (kinetics.py). The detector ends growth where END_FRACTION (97 %) is crystalline
  (growth_end.py), the 97 % crossing of that curve, so N = (-ln(1 - END_FRACTION) / k)^(1/n) and
  i/N = t / N. Every input is the run's own: no rig constant, no training.
- Otherwise (cooling before the start is confirmed, the first seconds of growth before the fit has enough
  points, a run whose fraction cannot be fitted) nothing in the history tells, and the image model's
  reading of the frame stands when there is one.

The state comes from the stage detector and the online fraction only, so replaying a run's frames without
the models (a resumed daemon session) rebuilds it exactly.
"""

import math
from collections.abc import Sequence

from monitor.analytics.growth_end import END_FRACTION
from monitor.analytics.kinetics import FIT_RANGE, fit_avrami
from monitor.records import EventType, ProgressBasis, ProgressEstimate, Stage, StageEvent

MIN_FIT_POINTS = 10  # fraction points inside kinetics.FIT_RANGE before the fit is trusted
MIN_R2 = 0.9  # below it the fraction is not following JMAK (noise, a stall): the fit is not used
N_RANGE = (0.5, 6.0)  # Avrami exponents of real crystallization (1..4, widened for noise)

_BEFORE_COOLING = (Stage.HEATING, Stage.MELTING, Stage.MOLTEN)


class OnlineProgress:
    """Fed each frame's stage, events and crystal fraction in order; says the frame's progress."""

    def __init__(self) -> None:
        self._start: float | None = None
        self._times: list[float] = []
        self._fractions: list[float | None] = []
        self._in_range = 0

    def update(
        self, time_s: float, stage: Stage, events: Sequence[StageEvent], fraction: float | None
    ) -> ProgressEstimate | None:
        for event in events:
            if event.type is EventType.CRYSTALLIZATION_START:
                self._start = event.time_s
        if stage in _BEFORE_COOLING:
            return ProgressEstimate(0.0, ProgressBasis.STAGE)
        if stage is Stage.SOLID:
            return ProgressEstimate(100.0, ProgressBasis.STAGE)
        if stage is Stage.CRYSTALLIZING and self._start is not None:
            self._observe(time_s, fraction)
            return self._kinetics(time_s)
        return None

    def _observe(self, time_s: float, fraction: float | None) -> None:
        self._times.append(time_s)
        self._fractions.append(fraction)
        if fraction is not None and FIT_RANGE[0] <= fraction <= FIT_RANGE[1]:
            self._in_range += 1

    def _kinetics(self, time_s: float) -> ProgressEstimate | None:
        assert self._start is not None
        if self._in_range < MIN_FIT_POINTS:
            return None
        fit = fit_avrami(self._times, self._fractions, self._start, weighted=True)
        if fit is None or fit.r2 < MIN_R2 or not N_RANGE[0] <= fit.n <= N_RANGE[1] or not fit.k > 0:
            return None
        duration = (-math.log(1.0 - END_FRACTION) / fit.k) ** (1.0 / fit.n)
        share = (time_s - self._start) / duration
        return ProgressEstimate(float(min(max(share, 0.0), 1.0) * 100.0), ProgressBasis.KINETICS)


def with_image(history: ProgressEstimate | None, image_pct: float | None) -> ProgressEstimate | None:
    """The run's history where it tells, else the image model's reading (clipped to 0..100 %)."""
    if history is not None or image_pct is None or math.isnan(image_pct):
        return history
    return ProgressEstimate(float(min(max(image_pct, 0.0), 100.0)), ProgressBasis.IMAGE)
