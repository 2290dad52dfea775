"""JMAK/Avrami fit of a crystalline-fraction curve: X = 1 - exp(-k t^n), t from crystallization start."""

import math

import numpy as np

from monitor.records import AvramiFit

# Only the well-conditioned middle of the curve: near 0 and 1 the double logarithm amplifies noise.
FIT_RANGE = (0.03, 0.95)


def fit_avrami(times: list[float], fraction: list[float | None], start: float) -> AvramiFit | None:
    """Least squares of ln(-ln(1 - X)) = ln k + n ln t; None with fewer than 4 usable points."""
    xs, ys = [], []
    for t, x in zip(times, fraction, strict=True):
        tau = t - start
        if x is None or tau <= 0 or not FIT_RANGE[0] <= x <= FIT_RANGE[1]:
            continue
        xs.append(math.log(tau))
        ys.append(math.log(-math.log(1.0 - x)))
    if len(xs) < 4:
        return None
    a, b = np.asarray(xs), np.asarray(ys)
    n, ln_k = np.polyfit(a, b, 1)
    predicted = n * a + ln_k
    ss_res = float(((b - predicted) ** 2).sum())
    ss_tot = float(((b - b.mean()) ** 2).sum())
    return AvramiFit(n=float(n), k=float(math.exp(ln_k)), r2=1.0 - ss_res / ss_tot if ss_tot > 0 else 0.0)
