"""JMAK/Avrami fit of a crystalline-fraction curve: X = 1 - exp(-k t^n), t from crystallization start."""

import math

import numpy as np

from monitor.records import AvramiFit

# Only the well-conditioned middle of the curve: near 0 and 1 the double logarithm amplifies noise.
FIT_RANGE = (0.03, 0.95)


def fit_avrami(
    times: list[float], fraction: list[float | None], start: float, *, weighted: bool = False
) -> AvramiFit | None:
    """Least squares of ln(-ln(1 - X)) = ln k + n ln t; None with fewer than 4 usable points. `weighted`:
    each point by how much an error in X moves its double logarithm (d/dX = 1 / ((1 - X) (-ln(1 - X))),
    ~1/X early), so the first few percent, where a little noise in X is a large error, count for less."""
    xs, ys, ws = [], [], []
    for t, x in zip(times, fraction, strict=True):
        tau = t - start
        if x is None or tau <= 0 or not FIT_RANGE[0] <= x <= FIT_RANGE[1]:
            continue
        xs.append(math.log(tau))
        ys.append(math.log(-math.log(1.0 - x)))
        ws.append((1.0 - x) * -math.log(1.0 - x) if weighted else 1.0)
    if len(xs) < 4:
        return None
    a, b, w = np.asarray(xs), np.asarray(ys), np.asarray(ws)
    n, ln_k = np.polyfit(a, b, 1, w=w)
    predicted = n * a + ln_k
    w2 = w**2  # polyfit's weights multiply the residuals
    ss_res = float((w2 * (b - predicted) ** 2).sum())
    ss_tot = float((w2 * (b - np.average(b, weights=w2)) ** 2).sum())
    return AvramiFit(n=float(n), k=float(math.exp(ln_k)), r2=1.0 - ss_res / ss_tot if ss_tot > 0 else 0.0)
