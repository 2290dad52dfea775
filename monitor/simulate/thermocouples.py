"""What the two thermocouples display: 1# follows the programme; 2# is the unreliable one.

2# imitates the real unreliable thermocouple: stuck near 1145 degC with a few degrees of jitter, and
bursts and spikes up to ~1480 degC that have nothing to do with the sample.
"""

import numpy as np

T2_BASE_C = 1145.0
T2_MAX_C = 1480.0


def read_t1(programme_c: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """1# as displayed: the programme plus sub-degree measurement noise, as integers."""
    return np.rint(programme_c + rng.normal(0.0, 0.4, programme_c.shape)).astype(int)


def read_t2(count: int, rng: np.random.Generator, spike_rate_per_s: float = 1 / 28) -> np.ndarray:
    """2# as displayed, one value a second: stuck-ish base, plus decaying spikes at random times."""
    values = T2_BASE_C + rng.integers(-3, 5, count).astype(float)
    starts = np.flatnonzero(rng.random(count) < spike_rate_per_s)
    for start in starts:
        height = rng.uniform(40.0, T2_MAX_C - T2_BASE_C)
        length = int(rng.integers(1, 6))
        decay = np.exp(-np.arange(length) / max(length / 2.0, 1.0))
        stop = min(start + length, count)
        values[start:stop] = np.maximum(values[start:stop], T2_BASE_C + height * decay[: stop - start])
    return np.rint(np.minimum(values, T2_MAX_C)).astype(int)
