"""Plausibility of overlay readings: time follows frames and file names; temperatures keep range and rate."""

import pytest

from monitor.config.overlay import PlausibilityConfig
from monitor.overlay.plausibility import REANCHOR_AFTER, TemperatureCheck, TimeCheck, Verdict

# --- time ------------------------------------------------------------------------------------------------


@pytest.fixture
def time_check() -> TimeCheck:
    return TimeCheck()


@pytest.fixture
def anchored_time(time_check: TimeCheck) -> TimeCheck:
    """548 s accepted at frame 0."""
    time_check.commit(time_check.evaluate((548,), 0, None), 0)
    return time_check


def test_first_time_without_a_name_takes_the_first_candidate(time_check: TimeCheck) -> None:
    assert time_check.expected(0, None) is None
    assert time_check.evaluate((1548, 548), 0, None) == Verdict(1548)


def test_no_candidates_is_unreadable(anchored_time: TimeCheck) -> None:
    assert anchored_time.evaluate((), 1, None) == Verdict(None, "unreadable")
    assert anchored_time.evaluate((), 1, 549) == Verdict(None, "unreadable")


def test_expected_time_comes_from_the_file_name_first(anchored_time: TimeCheck) -> None:
    assert anchored_time.expected(1, 700) == 700
    assert anchored_time.expected(1, None) == 549
    assert anchored_time.expected(5, None) == 553


def test_candidates_order_chooses_the_expected_one_from_the_name(time_check: TimeCheck) -> None:
    assert time_check.evaluate((1548, 548), 0, 548) == Verdict(548)


def test_candidates_order_chooses_the_expected_one_from_the_previous_frame(anchored_time: TimeCheck) -> None:
    assert anchored_time.evaluate((1549, 549), 1, None) == Verdict(549)


def test_time_follows_the_elapsed_frames(anchored_time: TimeCheck) -> None:
    for index in range(1, 5):
        verdict = anchored_time.evaluate((548 + index,), index, None)
        assert verdict == Verdict(548 + index)
        anchored_time.commit(verdict, index)


def test_a_rejected_frame_does_not_move_the_anchor(anchored_time: TimeCheck) -> None:
    bad = anchored_time.evaluate((900,), 1, None)
    assert bad.value is None
    anchored_time.commit(bad, 1)
    assert anchored_time.expected(2, None) == 550
    assert anchored_time.evaluate((550,), 2, None) == Verdict(550)


def test_time_evaluate_does_not_change_what_is_remembered(anchored_time: TimeCheck) -> None:
    anchored_time.evaluate((549,), 1, None)
    anchored_time.evaluate((549,), 1, None)
    assert anchored_time.expected(1, None) == 549


@pytest.mark.parametrize("name_time", [None, 549])
def test_time_stuck_is_flagged(anchored_time: TimeCheck, name_time: int | None) -> None:
    assert anchored_time.evaluate((548,), 1, name_time) == Verdict(None, "time stuck at 548")


def test_a_gap_in_the_file_names_is_fine_when_the_names_say_so(anchored_time: TimeCheck) -> None:
    verdict = anchored_time.evaluate((560,), 1, 560)
    assert verdict == Verdict(560)
    anchored_time.commit(verdict, 1)
    assert anchored_time.expected(2, None) == 561


@pytest.mark.parametrize(
    ("read", "index", "name_time", "error"),
    [
        (600, 1, None, "time 600 != 549 expected from the previous frame"),
        (549, 3, None, "time 549 != 551 expected from the previous frame"),
        (600, 1, 549, "time 600 != 549 expected from the file name"),
        (549, 1, 560, "time 549 != 560 expected from the file name"),
    ],
)
def test_a_wrong_time_is_flagged_with_the_expected_value(
    anchored_time: TimeCheck, read: int, index: int, name_time: int | None, error: str
) -> None:
    assert anchored_time.evaluate((read,), index, name_time) == Verdict(None, error)


def test_a_wrong_time_on_the_first_frame_is_flagged_against_the_name(time_check: TimeCheck) -> None:
    assert time_check.evaluate((1548,), 0, 110) == Verdict(
        None, "time 1548 != 110 expected from the file name"
    )


# --- temperature -----------------------------------------------------------------------------------------


@pytest.fixture
def config() -> PlausibilityConfig:
    return PlausibilityConfig(t_min_c=0, t_max_c=1800, max_rate_c_per_s=60)


@pytest.fixture
def temp_check(config: PlausibilityConfig) -> TemperatureCheck:
    return TemperatureCheck(config)


@pytest.fixture
def anchored_temp(temp_check: TemperatureCheck) -> TemperatureCheck:
    """950 degC accepted at 110 s."""
    assert temp_check.check((950,), 110.0) == Verdict(950)
    return temp_check


def test_first_temperature_in_range_is_accepted(temp_check: TemperatureCheck) -> None:
    assert temp_check.evaluate((900,), 110.0) == Verdict(900)


def test_no_temperature_candidates_is_unreadable(anchored_temp: TemperatureCheck) -> None:
    assert anchored_temp.evaluate((), 111.0) == Verdict(None, "unreadable")


@pytest.mark.parametrize("candidates", [(9518,), (1801,), (-1,), (9518, 1900)])
def test_out_of_range_is_flagged_with_the_range(
    temp_check: TemperatureCheck, candidates: tuple[int, ...]
) -> None:
    verdict = temp_check.evaluate(candidates, 110.0)
    assert verdict.value is None
    assert verdict.suspect is None
    assert verdict.error == f"{candidates[0]} outside 0..1800 degC"


@pytest.mark.parametrize("value", [0, 1800])
def test_range_bounds_are_inclusive(temp_check: TemperatureCheck, value: int) -> None:
    assert temp_check.evaluate((value,), 110.0) == Verdict(value)


def test_a_later_candidate_is_chosen_when_the_first_is_out_of_range(anchored_temp: TemperatureCheck) -> None:
    assert anchored_temp.evaluate((9518, 951), 111.0) == Verdict(951)


def test_a_later_candidate_is_chosen_when_the_first_jumps(temp_check: TemperatureCheck) -> None:
    temp_check.check((105,), 110.0)
    assert temp_check.evaluate((1003, 100), 111.0) == Verdict(100)


def test_a_jump_is_rejected_with_a_suspect(anchored_temp: TemperatureCheck) -> None:
    verdict = anchored_temp.evaluate((1100,), 111.0)
    assert verdict.value is None
    assert verdict.error is not None and verdict.error.startswith("jump")
    assert verdict.error == "jump 950 -> 1100 in 1 s"
    assert verdict.suspect == 1100


def test_the_suspect_is_the_first_in_range_candidate(anchored_temp: TemperatureCheck) -> None:
    verdict = anchored_temp.evaluate((9518, 1200, 1300), 111.0)
    assert verdict == Verdict(None, "jump 950 -> 1200 in 1 s", suspect=1200)


@pytest.mark.parametrize(
    ("value", "time_s", "accepted"),
    [
        (1010, 111.0, True),  # exactly the maximum rate
        (1011, 111.0, False),
        (890, 111.0, True),  # falling as fast
        (889, 111.0, False),
        (1100, 113.0, True),  # 150 degC in 3 s < 180
        (1131, 113.0, False),  # 181 degC in 3 s
        (1250, 115.0, True),  # 300 degC in 5 s
        (1000, 110.5, True),  # less than a second counts as one second
        (1050, 110.5, False),
    ],
)
def test_rate_is_per_elapsed_second(
    anchored_temp: TemperatureCheck, value: int, time_s: float, accepted: bool
) -> None:
    verdict = anchored_temp.evaluate((value,), time_s)
    assert (verdict.value == value) is accepted
    assert (verdict.suspect == value) is not accepted


def test_the_jump_message_gives_the_elapsed_time(anchored_temp: TemperatureCheck) -> None:
    assert anchored_temp.evaluate((1500,), 115.0).error == "jump 950 -> 1500 in 5 s"
    assert anchored_temp.evaluate((1500,), 112.5).error == "jump 950 -> 1500 in 2.5 s"


def test_temperature_evaluate_does_not_change_what_is_remembered(anchored_temp: TemperatureCheck) -> None:
    assert anchored_temp.evaluate((990,), 111.0) == Verdict(990)
    # 990 was not committed: 1040 is still measured against 950 (90 > 60)
    assert anchored_temp.evaluate((1040,), 111.0).value is None


def test_check_commits_an_accepted_value(anchored_temp: TemperatureCheck) -> None:
    assert anchored_temp.check((1000,), 111.0) == Verdict(1000)
    assert anchored_temp.evaluate((1050,), 112.0) == Verdict(1050)


def test_rate_is_measured_from_the_last_accepted_value_and_time(anchored_temp: TemperatureCheck) -> None:
    assert anchored_temp.check((1500,), 111.0).value is None  # rejected: anchor stays 950 at 110 s
    assert anchored_temp.check((1050,), 112.0) == Verdict(1050)  # 100 in 2 s


def test_commit_of_an_out_of_range_reading_changes_nothing(anchored_temp: TemperatureCheck) -> None:
    for t in (111.0, 112.0, 113.0, 114.0):
        assert anchored_temp.check((9518,), t).value is None
    assert anchored_temp.evaluate((960,), 115.0) == Verdict(960)


def test_consistent_rejected_values_re_anchor(anchored_temp: TemperatureCheck) -> None:
    readings = [(1200, 111.0), (1205, 112.0), (1210, 113.0), (1215, 114.0)]
    verdicts = [anchored_temp.check((v,), t) for v, t in readings]
    rejected = REANCHOR_AFTER - 1
    assert all(v.value is None and v.error.startswith("jump") for v in verdicts[:rejected])
    assert [v.suspect for v in verdicts[:rejected]] == [v for v, _ in readings[:rejected]]
    assert verdicts[rejected] == Verdict(readings[rejected][0])
    # after re-anchoring, the new level is the reference
    assert verdicts[rejected + 1] == Verdict(1215)
    assert anchored_temp.evaluate((950,), 115.0).value is None


def test_inconsistent_rejected_values_do_not_re_anchor(anchored_temp: TemperatureCheck) -> None:
    readings = [(1200, 111.0), (1500, 112.0), (1210, 113.0), (1600, 114.0), (1300, 115.0)]
    for value, t in readings:
        verdict = anchored_temp.check((value,), t)
        assert verdict.value is None, (value, t)
        assert verdict.suspect == value
    assert anchored_temp.evaluate((1000,), 116.0) == Verdict(1000)  # 950 at 110 s is still the anchor


def test_an_accepted_value_clears_the_rejections(anchored_temp: TemperatureCheck) -> None:
    assert anchored_temp.check((1200,), 111.0).value is None
    assert anchored_temp.check((1205,), 112.0).value is None
    assert anchored_temp.check((960,), 113.0) == Verdict(960)
    # 1210 now starts a fresh chain instead of completing the old one
    assert anchored_temp.check((1210,), 114.0).value is None
    assert anchored_temp.check((1215,), 115.0).value is None
    assert anchored_temp.check((1220,), 116.0) == Verdict(1220)


def test_jump_message_counts_from_time_zero(temp_check: TemperatureCheck) -> None:
    temp_check.check((950,), 0.0)
    verdict = temp_check.evaluate((1500,), 5.0)
    assert verdict.error == "jump 950 -> 1500 in 5 s"


def test_the_suspect_of_a_jump_is_the_nearest_candidate(temp_check: TemperatureCheck) -> None:
    """'2#丝1148' with its unit clipped parses as (114, 1148); after 1229 only 1148 is worth a second look."""
    temp_check.check((1229,), 238.0)
    verdict = temp_check.evaluate((114, 1148), 239.0)
    assert verdict.value is None and verdict.suspect == 1148
