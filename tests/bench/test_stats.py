"""Percentiles, step means and the remainder that makes the parts add up."""

import pytest

from monitor.bench.stats import OTHER, percentiles, shares, step_means, with_remainder


def test_percentiles_are_ordered_and_bounded() -> None:
    p = percentiles([float(v) for v in range(1, 101)])
    assert p["min"] <= p["p50"] <= p["p95"] <= p["p99"] <= p["max"]
    assert p["p50"] == pytest.approx(50.5) and p["mean"] == pytest.approx(50.5)


def test_percentiles_refuse_no_samples() -> None:
    with pytest.raises(ValueError, match="no samples"):
        percentiles([])


def test_remainder_makes_the_steps_add_up_to_the_total() -> None:
    parts = with_remainder({"ocr": 20.0, "models": 30.0}, 80.0)
    assert parts[OTHER] == pytest.approx(30.0) and sum(parts.values()) == pytest.approx(80.0)


def test_step_means_count_a_missing_step_as_zero() -> None:
    assert step_means([{"ocr": 10.0, "models": 4.0}, {"ocr": 20.0}]) == {"ocr": 15.0, "models": 2.0}
    assert step_means([]) == {}


def test_shares_are_percent_of_the_total() -> None:
    assert shares({"ocr": 25.0, "models": 75.0}, 100.0) == {
        "ocr": {"mean_ms": 25.0, "share_pct": 25.0},
        "models": {"mean_ms": 75.0, "share_pct": 75.0},
    }
