"""How bright and what colour the scene is, frame by frame, for a run's physical timeline.

Calibrated on the real whole-frame channel means (shared/data/apmcm2022a/frame_channel_means.csv): greyish at
900 degC (B70 G115 R118); deep orange-red when hot (B~0, G~95, R~175); a white-yellow flash while the powder
melts, peaking when the last solid goes; a bright turbid melt until it clears; green dimming once cooling
starts; greyish again once crystalline and cold (B55 G87 R85). Colours are BGR, 0..255.
The clear melt's glow is a function of 1#, never of the time since cooling: at a fixed gain the real camera's
G mean rises with 1# from fully molten to the peak (1333 -> 1369 degC: G 85 -> 98, then the auto exposure
steps down, as it does twice more before the hold) and falls with it while cooling (1498 -> 1336 degC: G 85.5
-> 51.9 with no step between). Hotter glows brighter (Planck); a frame at 1450 degC does not look like one at
1500 degC. green_hot() follows 1# with the constants that give the real programme's cooling (1.97 degC/s)
exactly the fade it had when it was drawn as 40 s after cooling began.
The melt clearing (fully molten) is a step, as an operator sees it; the clouding when crystals nucleate is
local to the sample (scene.py). The colours are the look of the scene; its radiance at gain 1 is that look
times cooling_dimming: while the furnace cools the glow keeps fading (Wien: the radiance falls steeply with
temperature) and the camera's auto exposure steps the gain up to follow it (camera.py), as in the real run
after ~400 s.
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
DIM_PER_C = 320.0
# The clear melt's green: GREEN_COLD + GREEN_GLOW at GREEN_REF_C (the real run's hold), fading by a factor e
# every GREEN_PER_C degrees below it (40 s at the real run's 1.97 degC/s); the turbid melt keeps the full
# green (its bubbles scatter the wire's light: the real G stays 107-145 from 1150 degC to the clearing).
GREEN_COLD = 68.0
GREEN_GLOW = 30.0
GREEN_REF_C = 1500.0
GREEN_PER_C = 40.0 * 1.97


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


def green_hot(t_c: np.ndarray) -> np.ndarray:
    """The clear melt's green (gain 1) at 1# t_c: GREEN_COLD + GREEN_GLOW at GREEN_REF_C, rising above it."""
    return GREEN_COLD + GREEN_GLOW * np.exp((np.asarray(t_c, dtype=float) - GREEN_REF_C) / GREEN_PER_C)


def _clear_or_cooling(timeline: Timeline) -> np.ndarray:
    return (timeline.clarity >= 1.0) | (timeline.times >= timeline.cooling_start_s)


def cooling_dimming(timeline: Timeline) -> np.ndarray:
    """Radiance factor per frame: 1 until 1# of the clear (or cooling) melt is below DIM_FROM_C, then an
    exponential fall with 1#. While heating the melt clears only at ~1330 degC, so this is the cooling."""
    below = np.where(_clear_or_cooling(timeline), np.maximum(DIM_FROM_C - timeline.t1, 0.0), 0.0)
    return np.exp(-below / DIM_PER_C)


def scene_colours(timeline: Timeline) -> np.ndarray:
    """Mean scene colour (BGR) of every frame of a timeline, shape (frames, 3), before cooling_dimming."""
    t = timeline.times
    green = np.where(_clear_or_cooling(timeline), green_hot(timeline.t1), GREEN_COLD + GREEN_GLOW)
    hot = np.stack([np.zeros_like(t), green, np.full_like(t, 172.0)], axis=-1)
    x = timeline.fraction[:, None]
    cold = POWDER_COLD * (1.0 - x) + SOLID_COLD * x
    g = glow(timeline.t1)
    turbid = ((timeline.melt >= 1.0) * (1.0 - timeline.clarity))[:, None]
    flash = flash_strength(t, timeline.events)[:, None]
    colour = cold * (1.0 - g) + hot * g + flash * FLASH + turbid * TURBID
    return colour
