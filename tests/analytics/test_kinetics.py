"""Avrami fit and the image fraction curve."""

import math

import pytest

from monitor.analytics.fraction import offline_fraction
from monitor.analytics.kinetics import fit_avrami


@pytest.mark.parametrize(("n", "k"), [(2.5, 3e-5), (1.8, 4e-4), (3.2, 1e-6)])
def test_fit_recovers_n_and_k(n: float, k: float) -> None:
    times = [100.0 + t for t in range(200)]
    fraction = [1 - math.exp(-k * (t - 100.0) ** n) if t > 100 else 0.0 for t in times]
    fit = fit_avrami(times, fraction, 100.0)
    assert fit is not None
    assert fit.n == pytest.approx(n, rel=1e-3)
    assert fit.k == pytest.approx(k, rel=1e-2)
    assert fit.r2 > 0.999


def test_fit_needs_points_in_the_middle_of_the_curve() -> None:
    assert fit_avrami([1.0, 2.0, 3.0], [0.0, 1.0, 1.0], 0.0) is None


def test_offline_fraction_is_scaled_between_start_and_end() -> None:
    times = [0.0, 1.0, 2.0, 3.0, 4.0]
    textured = [0.1, 0.1, 0.3, 0.5, 0.5]
    assert offline_fraction(times, textured, 1.0, 3.0) == pytest.approx([0.0, 0.0, 0.5, 1.0, 1.0])
    assert offline_fraction(times, textured, None, 3.0) == [None] * 5
