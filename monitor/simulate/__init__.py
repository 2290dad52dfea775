"""The synthetic furnace: deterministic runs that look like the real one, with their ground truth."""

from monitor.simulate.options import CameraOptions, OverlayOptions, SimulationOptions
from monitor.simulate.profile import FurnaceProfile
from monitor.simulate.run import TRUTH_COLUMNS, SimulatedRun, simulate

__all__ = [
    "TRUTH_COLUMNS",
    "CameraOptions",
    "FurnaceProfile",
    "OverlayOptions",
    "SimulatedRun",
    "SimulationOptions",
    "simulate",
]
