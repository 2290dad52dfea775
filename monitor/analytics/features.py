"""Per-frame image features: cheap, vectorised, on a downscaled copy where that does not change the result.

Whole-frame means and frame-to-frame change are taken on a copy shrunk `downscale` times per side (an area
average, so the means are the full frame's). Texture needs full resolution and is taken on the sample box
only: crystals are textured, the liquid is smooth.
"""

import math

import cv2
import numpy as np

from monitor.analytics.locate import default_box, probe_points_in
from monitor.config.analytics import AnalyticsConfig
from monitor.config.overlay import Box
from monitor.records import Features

# A pixel whose 5x5 neighbourhood varies by more than this share of its brightness counts as textured:
# relative, so crystals stay textured as the scene cools and dims, and the smooth melt stays smooth.
TEXTURE_LEVEL = 0.05
_WINDOW = (3, 3)


class FeatureExtractor:
    """Turns frames into Features, one run at a time (it remembers the previous frame for `change`)."""

    def __init__(self, config: AnalyticsConfig) -> None:
        self.config = config
        self._previous: np.ndarray | None = None
        self._sample_box: Box | None = config.sample_roi

    def new_run(self) -> None:
        self._previous = None
        self._sample_box = self.config.sample_roi

    # --- sample box per run (analytics.locate) ---
    def set_sample_box(self, box: Box) -> None:
        """The run's sample box (located from its frames); analytics.sample_roi, when set, wins."""
        self._sample_box = self.config.sample_roi or box

    def sample_box(self, width: int, height: int) -> Box:
        """The box in use: configured, else set for this run, else the default camera's for this size."""
        return self._sample_box or default_box(width, height)

    def _probe_points(self, box: Box) -> list[tuple[int, int]]:
        if self.config.probe_points is not None:
            return [(p.x, p.y) for p in self.config.probe_points]
        return list(probe_points_in(box))

    # --- end sample box ---

    def extract(self, image: np.ndarray) -> Features:
        h, w = image.shape[:2]
        f = self.config.downscale
        small = cv2.resize(image, (max(w // f, 1), max(h // f, 1)), interpolation=cv2.INTER_AREA)
        b, g, r = (float(v) for v in small.reshape(-1, 3).mean(axis=0))
        grey = cv2.cvtColor(small, cv2.COLOR_BGR2GRAY).astype(np.float32)
        change = (
            math.nan
            if self._previous is None or self._previous.shape != grey.shape
            else float(np.abs(grey - self._previous).mean())
        )
        self._previous = grey
        box = self.sample_box(w, h)
        texture, share = sample_texture(image, box)
        probes = tuple(
            tuple(float(v) for v in image[min(y, h - 1), min(x, w - 1)]) for x, y in self._probe_points(box)
        )
        return Features(
            mean=(b + g + r) / 3.0,
            mean_b=b,
            mean_g=g,
            mean_r=r,
            probes=probes,  # type: ignore[arg-type]
            change=change,
            texture=texture,
            textured_share=share,
        )


def sample_texture(image: np.ndarray, box: Box) -> tuple[float, float]:
    """Mean local contrast (local std / local mean) in the sample box, and the share of its pixels above
    TEXTURE_LEVEL."""
    roi = image[box.y : box.y + box.height, box.x : box.x + box.width]
    if roi.size == 0:
        return math.nan, math.nan
    grey = cv2.cvtColor(roi, cv2.COLOR_BGR2GRAY).astype(np.float32)
    mean = cv2.blur(grey, _WINDOW)
    std = np.sqrt(np.maximum(cv2.blur(grey * grey, _WINDOW) - mean * mean, 0.0))
    contrast = std / np.maximum(mean, 1.0)
    return float(contrast.mean()), float((contrast > TEXTURE_LEVEL).mean())
