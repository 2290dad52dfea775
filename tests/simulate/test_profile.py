"""The temperature programme, the stage timeline and the crystallization law."""

import numpy as np
import pytest
from pydantic import ValidationError

from monitor.records import EventType, Stage
from monitor.simulate.profile import END_FRACTION, FurnaceProfile, build_timeline, draw_kinetics


def timeline(profile: FurnaceProfile | None = None, seed: int = 0, times=None):
    profile = profile or FurnaceProfile()
    kinetics = draw_kinetics(profile, np.random.default_rng(seed))
    return build_timeline(profile, kinetics, np.arange(110, 672) if times is None else times)


def test_default_programme_follows_the_real_run() -> None:
    t1 = FurnaceProfile().t1(np.array([110, 166, 222, 300, 321, 671]))
    assert t1[0] == pytest.approx(900)
    assert 1150 < t1[1] < 1250  # real run: 1181 degC at 166 s
    assert t1[2] == pytest.approx(1500)
    assert t1[3] == t1[4] == pytest.approx(1500)
    assert t1[5] == pytest.approx(812, abs=5)


def test_heating_slope_decreases() -> None:
    slope = np.diff(FurnaceProfile().t1(np.arange(110, 223)))
    assert np.all(slope > 0)
    assert slope[:20].mean() > slope[-20:].mean()


def test_default_events_match_the_reference_run() -> None:
    tl = timeline()
    assert tl.events[EventType.CRYSTALLIZATION_START] == 548.0  # DESIGN.md's example
    times = [tl.events[e] for e in EventType]
    assert times == sorted(times), "events out of order"


def test_stages_go_in_order_and_change_at_the_events() -> None:
    tl = timeline()
    order = list(Stage)
    ranks = [order.index(s) for s in tl.stage]
    assert ranks == sorted(ranks)
    assert set(tl.stage) == set(Stage)
    first = {s: tl.times[tl.stage.index(s)] for s in Stage}
    assert first[Stage.MELTING] == tl.events[EventType.MELTING_START]
    assert first[Stage.MOLTEN] == tl.events[EventType.FULLY_MOLTEN]
    assert first[Stage.COOLING] == tl.cooling_start_s
    assert first[Stage.CRYSTALLIZING] == tl.events[EventType.CRYSTALLIZATION_START]
    assert first[Stage.SOLID] == tl.events[EventType.CRYSTALLIZATION_END]


def test_progress_is_the_papers_label() -> None:
    tl = timeline()
    start = tl.events[EventType.CRYSTALLIZATION_START]
    end = tl.events[EventType.CRYSTALLIZATION_END]
    assert np.all(tl.progress_pct[tl.times < start] == 0)
    assert np.all(tl.progress_pct[tl.times >= end] == 100)
    inside = (tl.times >= start) & (tl.times < end)
    expected = (tl.times[inside] - start) / (end - start) * 100
    np.testing.assert_allclose(tl.progress_pct[inside], expected)


def test_fraction_is_avrami_and_reaches_the_end_fraction() -> None:
    tl = timeline()
    start = tl.events[EventType.CRYSTALLIZATION_START]
    end = tl.events[EventType.CRYSTALLIZATION_END]
    k, n = tl.kinetics.k, tl.kinetics.n
    mid = tl.times == start + 30
    assert tl.fraction[mid][0] == pytest.approx(1 - np.exp(-k * 30**n))
    assert np.all(np.diff(tl.fraction) >= 0)
    assert tl.kinetics.fraction(np.array([end - start]))[0] >= END_FRACTION
    assert tl.kinetics.fraction(np.array([end - start - 1]))[0] < END_FRACTION


def test_kinetics_differ_by_seed_within_the_ranges() -> None:
    profile = FurnaceProfile()
    drawn = [draw_kinetics(profile, np.random.default_rng(s)) for s in range(5)]
    assert len({round(k.n, 6) for k in drawn}) == 5
    assert all(profile.avrami_n[0] <= k.n <= profile.avrami_n[1] for k in drawn)


def test_profile_options_change_the_run() -> None:
    fast = timeline(FurnaceProfile(cool_rate_c_per_s=3.0, hold_s=60, peak_c=1450))
    default = timeline()
    assert fast.events[EventType.CRYSTALLIZATION_START] < default.events[EventType.CRYSTALLIZATION_START]
    assert fast.t1.max() == pytest.approx(1450)


def test_a_short_window_has_only_its_own_stages() -> None:
    tl = timeline(times=np.arange(110, 140))
    assert set(tl.stage) == {Stage.HEATING, Stage.MELTING}


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"peak_c": 1100}, "fully_molten_c < peak_c"),
        ({"crystallization_c": 650}, "floor_c < crystallization_c"),
        ({"peak_at_s": 100}, "peak_at_s must come after ramp_start_s"),
        ({"avrami_n": (3.0, 2.0)}, "avrami_n must be a range"),
        ({"cool_rate_c_per_s": 0}, "greater than 0.1"),
    ],
)
def test_inconsistent_profiles_are_refused(changes: dict, message: str) -> None:
    with pytest.raises(ValidationError, match=message):
        FurnaceProfile(**changes)


def test_smooth_crystallization_end_continues_the_avrami_curve() -> None:
    snap = timeline()
    smooth = timeline(FurnaceProfile(crystallization_end="smooth"))
    end = snap.events[EventType.CRYSTALLIZATION_END]
    assert smooth.events == snap.events  # the true end is still the 97 % crossing
    after = snap.times >= end
    assert np.all(snap.fraction[after] == 1.0)
    assert np.all(smooth.fraction[after] < 1.0) and np.all(smooth.fraction[after] >= END_FRACTION)
    np.testing.assert_allclose(
        smooth.fraction[after],
        snap.kinetics.fraction(snap.times[after] - snap.events[EventType.CRYSTALLIZATION_START]),
    )
    np.testing.assert_array_equal(smooth.fraction[~after], snap.fraction[~after])
