"""The stage model shared by the simulator and the detector: which stage a time falls in, given the event
times, and the reference paper's crystallization progress label."""

import math
from collections.abc import Mapping

import numpy as np

from monitor.records import EventType, Stage


def stage_at(t: float, events: Mapping[EventType, float], cooling_start_s: float | None) -> Stage:
    """heating -> melting (melting_start) -> molten (fully_molten) -> cooling (end of the hold)
    -> crystallizing (crystallization_start) -> solid (crystallization_end)."""

    def reached(kind: EventType) -> bool:
        return t >= events.get(kind, math.inf)

    if reached(EventType.CRYSTALLIZATION_END):
        return Stage.SOLID
    if reached(EventType.CRYSTALLIZATION_START):
        return Stage.CRYSTALLIZING
    # Cooling is 1#'s to tell, seen or not the melt before it (a recording begun late shows no heating event).
    if cooling_start_s is not None and t >= cooling_start_s:
        return Stage.COOLING
    if reached(EventType.FULLY_MOLTEN):
        return Stage.MOLTEN
    if reached(EventType.MELTING_START):
        return Stage.MELTING
    return Stage.HEATING


def paper_progress(times: np.ndarray, start: float | None, end: float | None) -> np.ndarray:
    """0 % before crystallization_start, 100 x i/N over the N frames of the crystallizing stage (i from 0),
    100 % from crystallization_end on; all 0 while either event is unknown."""
    times = np.asarray(times, dtype=float)
    if start is None or end is None:
        return np.zeros_like(times)
    return np.clip((times - start) / max(end - start, 1e-9), 0.0, 1.0) * 100.0
