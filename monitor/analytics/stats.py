"""Robust statistics shared by the analytics."""

import math
from collections.abc import Sequence

import numpy as np


def robust_std(values: Sequence[float] | np.ndarray, *, minimum: int = 3, short: float = math.inf) -> float:
    """Standard deviation from the median absolute deviation of the values that are not NaN: spikes (a
    glint, a step) do not inflate it. `short` when fewer than `minimum` values are left, since callers differ
    on what too little data should mean (no threshold can be met, or no noise is known yet)."""
    a = np.asarray(values, dtype=float)
    a = a[~np.isnan(a)]
    if a.size < minimum:
        return short
    return float(1.4826 * np.median(np.abs(a - np.median(a))))
