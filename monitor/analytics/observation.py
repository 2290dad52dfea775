"""What the stage detector needs of one frame: the Features it reads, and the sample's pixels beside them."""

import math
from dataclasses import dataclass, field

import numpy as np

from monitor.records import Features


@dataclass(frozen=True, slots=True)
class Observation:
    """What the detector needs of one frame."""

    time_s: float
    file: str
    level: float  # gain-compensated whole-frame mean
    t1_c: float | None
    # Sample contrast per channel (B, G, R); nan = not measured (a table of means)
    sample: tuple[float, float, float] = (math.nan, math.nan, math.nan)
    # Mean squared local contrast of the sample box, noise removed; nan = not measured (a table of means)
    texture: float = math.nan
    # The squared local contrast of each of the sample's pixels (FeatureExtractor.sample_pixels); None = not
    # measured. Not compared: an array has no single truth value
    pixels: np.ndarray | None = field(default=None, compare=False, repr=False)

    @classmethod
    def of(
        cls,
        time_s: float,
        file: str,
        features: Features,
        t1_c: float | None,
        pixels: np.ndarray | None = None,
    ) -> "Observation":
        level = features.level if not math.isnan(features.level) else features.mean
        return cls(time_s, file, level, t1_c, features.sample_contrast, features.area_texture, pixels)
