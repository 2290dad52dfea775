"""Live crystallization progress from the run's history: the stage's certainties, the kinetics of the
fraction so far, and the image model only where neither tells."""

import math

import numpy as np
import pytest

from monitor.analytics.growth_end import END_FRACTION
from monitor.analytics.progress import OnlineProgress, with_image
from monitor.records import EventType, ProgressBasis, ProgressEstimate, Stage, StageEvent

START = 500.0
CONFIRM = 3  # frames the detector takes to confirm crystallization_start (it dates the event back)


def _avrami(n: float, duration: float) -> tuple[float, float]:
    """(n, k) of a curve that crosses END_FRACTION `duration` seconds after the start."""
    return n, -math.log(1.0 - END_FRACTION) / duration**n


def _crystallize(
    n: float, duration: float, *, noise: float = 0.0, seed: int = 0
) -> list[tuple[float, float, ProgressEstimate | None]]:
    """(time, true i/N %, estimate) for every frame of a run that cools, then crystallizes from START."""
    rng = np.random.default_rng(seed)
    n, k = _avrami(n, duration)
    progress = OnlineProgress()
    out = []
    for t in np.arange(START - 20.0, START + duration):
        if t < START + CONFIRM:  # not confirmed yet
            stage, events, fraction = Stage.COOLING, (), None
        else:
            events = (
                (StageEvent(EventType.CRYSTALLIZATION_START, START, f"{START:.0f}", 1050.0),)
                if t == START + CONFIRM
                else ()
            )
            x = 1.0 - math.exp(-k * (t - START) ** n) + rng.normal(0.0, noise)
            stage, fraction = Stage.CRYSTALLIZING, float(np.clip(x, 0.0, 1.0))
        out.append(
            (float(t), 100.0 * max(t - START, 0.0) / duration, progress.update(t, stage, events, fraction))
        )
    return out


def test_nothing_crystallizes_before_the_melt_cools_and_a_solid_sample_is_done() -> None:
    progress = OnlineProgress()
    for t, stage in enumerate((Stage.HEATING, Stage.MELTING, Stage.MOLTEN)):
        assert progress.update(float(t), stage, (), 0.4) == ProgressEstimate(0.0, ProgressBasis.STAGE)
    # cooling: crystals may be forming before the detector confirms them; the history cannot tell
    assert progress.update(10.0, Stage.COOLING, (), None) is None
    assert progress.update(11.0, Stage.SOLID, (), 1.0) == ProgressEstimate(100.0, ProgressBasis.STAGE)


@pytest.mark.parametrize("n", [1.8, 2.5, 3.2])
def test_the_kinetics_give_the_time_share_whatever_the_avrami_exponent(n: float) -> None:
    frames = _crystallize(n, duration=90.0)
    known = [(truth, e) for _, truth, e in frames if e is not None and e.basis is ProgressBasis.KINETICS]
    assert len(known) > 40  # most of the crystallizing stage
    assert max(abs(e.pct - truth) for truth, e in known) < 1.0


def test_one_fraction_means_different_progress_for_different_kinetics() -> None:
    """Why a single frame cannot tell: X = 0.5 is reached at 41 % of the time at n = 1.8, 60 % at n = 3.2.
    The history tells them apart."""
    at_half = {}
    for n in (1.8, 3.2):
        _, k = _avrami(n, 90.0)
        t_half = START + (math.log(2.0) / k) ** (1.0 / n)
        frames = _crystallize(n, duration=90.0)
        _, truth, estimate = min(frames, key=lambda f: abs(f[0] - t_half))
        assert estimate is not None and estimate.pct == pytest.approx(truth, abs=1.5)
        at_half[n] = estimate.pct
    assert at_half[3.2] - at_half[1.8] > 15.0


def test_a_noisy_fraction_still_gives_progress_within_3_pp() -> None:
    for seed in range(3):
        frames = _crystallize(2.6, duration=100.0, noise=0.015, seed=seed)
        errors = [
            abs(e.pct - truth)
            for _, truth, e in frames
            if e is not None and e.basis is ProgressBasis.KINETICS
        ]
        assert errors and float(np.mean(errors)) < 3.0


def test_a_fraction_that_does_not_follow_jmak_is_not_fitted() -> None:
    """A stall of growth, or a fraction that jumps about: no kinetics, so the image model's reading stands."""
    progress = OnlineProgress()
    start = StageEvent(EventType.CRYSTALLIZATION_START, START, "0500", 1050.0)
    rng = np.random.default_rng(1)
    estimates = [
        progress.update(
            START + i, Stage.CRYSTALLIZING, (start,) if i == 0 else (), float(rng.uniform(0.05, 0.9))
        )
        for i in range(60)
    ]
    assert all(e is None for e in estimates)


def test_the_image_stands_only_where_the_history_cannot_tell() -> None:
    kinetics = ProgressEstimate(42.0, ProgressBasis.KINETICS)
    assert with_image(kinetics, 80.0) is kinetics
    assert with_image(None, 37.5) == ProgressEstimate(37.5, ProgressBasis.IMAGE)
    assert with_image(None, 104.0) == ProgressEstimate(100.0, ProgressBasis.IMAGE)  # a share: 0..100 %
    assert with_image(None, -3.0) == ProgressEstimate(0.0, ProgressBasis.IMAGE)
    assert with_image(None, None) is None and with_image(None, math.nan) is None
