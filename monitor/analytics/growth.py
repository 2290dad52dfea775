"""The crystallization growth curve of a texture signal: a JMAK (Avrami) fit, y = a + b (1 - exp(-(t/tau)^n)).

Fitted on every frame since crystallization_start, not read off one frame: a noisy signal, a soft lens, a
smooth or a sudden end all give the same end of growth, where the fitted fraction reaches END_FRACTION. The
fit is a grid over n and tau with a and b solved exactly for each, so it needs no optimiser and cannot be
trapped in a local minimum.
"""

import math
from dataclasses import dataclass

import numpy as np

from monitor.analytics.stats import robust_std

END_FRACTION = 0.97  # the end of growth, as metallurgists (and our simulator) put it
_N = np.linspace(1.0, 4.0, 13)  # Avrami exponents: 1 (1-D, site saturated) .. 4 (3-D, constant rate)
_TAU = np.geomspace(5.0, 900.0, 48)  # seconds


@dataclass(frozen=True, slots=True)
class GrowthFit:
    n: float
    tau_s: float
    base: float  # the signal before growth
    rise: float  # its growth to the plateau
    noise: float  # robust spread of the residuals

    @property
    def end_s(self) -> float:
        """Time from the start to END_FRACTION of the rise."""
        return self.tau_s * (-math.log(1.0 - END_FRACTION)) ** (1.0 / self.n)


def fit_growth(t: np.ndarray, y: np.ndarray) -> GrowthFit | None:
    """Least-squares JMAK fit of y(t), t in seconds since the start; None with too few points or no growth.
    A coarse grid finds the basin, a fine one around its best point the fit (about 1 % in tau)."""
    keep = ~np.isnan(y)
    t, y = np.maximum(np.asarray(t, dtype=float)[keep], 0.0), np.asarray(y, dtype=float)[keep]
    if t.size < 8:
        return None
    coarse = _best(t, y, _N, _TAU)
    if coarse is None:
        return None
    n0, tau0 = coarse[0], coarse[1]
    fine = _best(t, y, np.linspace(max(n0 - 0.25, 0.5), n0 + 0.25, 11), tau0 * np.geomspace(0.89, 1.12, 21))
    n, tau, a, b = fine if fine is not None else coarse
    residual = y - (a + b * (1.0 - np.exp(-((t / tau) ** n))))
    noise = robust_std(residual)
    return GrowthFit(n=n, tau_s=tau, base=a, rise=b, noise=noise)


def _best(
    t: np.ndarray, y: np.ndarray, ns: np.ndarray, taus: np.ndarray
) -> tuple[float, float, float, float] | None:
    """(n, tau, a, b) of the least squares over the grid, b > 0; a and b solved exactly per grid point."""
    n, tau = np.meshgrid(ns, taus, indexing="ij")
    x = 1.0 - np.exp(-((t[None, None, :] / tau[..., None]) ** n[..., None]))
    xm, ym = x.mean(axis=-1), y.mean()
    dx = x - xm[..., None]
    sxx = (dx * dx).sum(axis=-1)
    sxy = (dx * (y - ym)).sum(axis=-1)
    b = sxy / np.maximum(sxx, 1e-12)
    # Less squared error is more b * sxy; only growth (b > 0) of a curve that varies over the data counts.
    gain = np.where((b > 0) & (sxx > 1e-9), b * sxy, -np.inf)
    if not np.isfinite(gain).any():
        return None
    i, j = np.unravel_index(int(np.argmax(gain)), gain.shape)
    return float(n[i, j]), float(tau[i, j]), float(ym - b[i, j] * xm[i, j]), float(b[i, j])
