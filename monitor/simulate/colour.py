"""How bright and what colour the scene is, frame by frame, for a run's physical timeline.

Calibrated on the real whole-frame channel means (shared/data/apmcm2022a/frame_channel_means.csv): greyish at
900 degC (B70 G115 R118); deep orange-red when hot (B~0, G~95, R~175); a white-yellow flash while the powder
melts, peaking when the last solid goes; a bright turbid melt until it clears; green dimming once cooling
starts; greyish again once crystalline and cold (B55 G87 R85). Colours are BGR, 0..255.
The melt clearing (fully molten) is a step, as an operator sees it; the clouding when crystals nucleate is
local to the sample (scene.py). These colours are radiance at gain 1: while the furnace cools, the glow
keeps fading (Wien: the radiance falls steeply with temperature) and the camera's auto exposure steps the
gain up to follow it (camera.py), as in the real run after ~400 s.
"""

import numpy as np

from monitor.records import EventType
from monitor.simulate.profile import Timeline

POWDER_COLD = np.array([70.0, 115.0, 118.0])
SOLID_COLD = np.array([55.0, 87.0, 85.0])
FLASH = np.array([45.0, 112.0, 80.0])
TURBID = np.array([4.0, 42.0, 32.0])
# Cooling dims the whole scene once 1# is below DIM_FROM_C: by a factor e every DIM_PER_C degrees.
# Calibrated so that a camera whose gain is fixed from ~400 s on sees the mean fall ~0.3-1 grey/s.
DIM_FROM_C = 1360.0
DIM_PER_C = 190.0


def _logistic(x: np.ndarray) -> np.ndarray:
    return 1.0 / (1.0 + np.exp(-x))


def glow(t_c: np.ndarray) -> np.ndarray:
    """Incandescence per channel (B, G, R) in 0..1: blue fades over a wider, hotter band than red rises."""
    t = np.asarray(t_c, dtype=float)[..., None]
    centre = np.array([1010.0, 955.0, 955.0])
    width = np.array([45.0, 22.0, 22.0])
    return _logistic((t - centre) / width)


def flash_strength(times: np.ndarray, events: dict[EventType, float]) -> np.ndarray:
    """The melt flash: builds up while the powder melts and collapses when the last solid has gone."""
    start = events.get(EventType.MELTING_START, np.inf) - 1.0
    peak = events.get(EventType.MELTING_COMPLETE, np.inf)
    rising = np.clip((times - start) / max(peak - start, 1.0), 0.0, 1.0)
    return np.where(times <= peak, rising, 0.0)


def cooling_dimming(timeline: Timeline) -> np.ndarray:
    """Radiance factor per frame: 1 until cooling takes 1# below DIM_FROM_C, then an exponential fall."""
    cooling = timeline.times >= timeline.cooling_start_s
    return np.exp(-np.where(cooling, np.maximum(DIM_FROM_C - timeline.t1, 0.0), 0.0) / DIM_PER_C)


def scene_colours(timeline: Timeline) -> np.ndarray:
    """Mean scene colour (BGR) of every frame of a timeline, shape (frames, 3)."""
    t = timeline.times
    since_cooling = np.maximum(t - timeline.cooling_start_s, 0.0)
    green_hot = 68.0 + 30.0 * np.exp(-since_cooling / 40.0)
    hot = np.stack([np.zeros_like(t), green_hot, np.full_like(t, 172.0)], axis=-1)
    x = timeline.fraction[:, None]
    cold = POWDER_COLD * (1.0 - x) + SOLID_COLD * x
    g = glow(timeline.t1)
    turbid = ((timeline.melt >= 1.0) * (1.0 - timeline.clarity))[:, None]
    flash = flash_strength(t, timeline.events)[:, None]
    colour = cold * (1.0 - g) + hot * g + flash * FLASH + turbid * TURBID
    return colour * cooling_dimming(timeline)[:, None]
