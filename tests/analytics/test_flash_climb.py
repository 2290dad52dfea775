"""The melt flash's climb (signals.flash_climb) on a recording begun 20 s before the melt, under a flicker."""

import math

import numpy as np
import pytest

from monitor.analytics.signals import climb_threshold, flash_climb, knee, theil_sen

# The whole-frame level at 110-149 s, +-4 % flicker and dropped seconds (late-peak-low-tc, seed 18003):
# five bright frames in a row at 121-126 s fall back; the melt's flash begins at 130 s.
LEVEL = [101.32, 102.19, 101.83, 97.10, 99.19, 100.39, 96.80, 98.09, 97.17, 96.55, 97.10, 104.70, 102.58,
         102.34, 102.56, 98.83, 103.35, 97.51, 96.09, 98.97, 105.13, 109.65, 107.61, 113.59, 119.13, 114.52,
         122.11, 125.41, 123.28, 132.03, 133.31, 133.65, 160.47, 164.11, 169.51, 173.55, 117.50, 149.82,
         156.90, 155.99]  # fmt: skip
TIMES = [110.0 + i for i in range(len(LEVEL))]
K, HOLD = 5, 5


def test_a_flicker_s_run_of_bright_frames_climbs_but_falls_back() -> None:
    n = 15  # the window 119-124 s
    baseline = np.asarray(LEVEL[: n - K])
    # Only nine frames before it to know the flicker by: the window beats the threshold they give ...
    assert theil_sen(np.asarray(LEVEL[n - K - 1 : n])) > climb_threshold(baseline, K)[0]
    # ... but the level falls back on the frames after it: no flash.
    assert flash_climb(LEVEL, TIMES, n, K, HOLD) is None


def test_the_flash_keeps_its_climb_and_is_dated_where_it_began() -> None:
    windows = range(2 * K + 4, len(LEVEL) - HOLD)
    found = [(n, climb) for n in windows if (climb := flash_climb(LEVEL, TIMES, n, K, HOLD))]
    assert found, "the flash was not found"
    n, climb = found[0]
    assert TIMES[climb.at] == pytest.approx(130.0, abs=1.0) and climb.margin > 1.0
    # Not before the frames after the window have come in.
    assert flash_climb(LEVEL[: n + HOLD - 1], TIMES, n, K, HOLD) is None


@pytest.mark.filterwarnings("error")
def test_frames_after_that_were_not_measured_confirm_nothing() -> None:
    n = 24  # the flash's window, its frames after unmeasured (a table row without means)
    assert flash_climb(LEVEL, TIMES, n, K, HOLD) is not None
    blank = [*LEVEL[:n], *[float("nan")] * HOLD]
    assert flash_climb(blank, TIMES, n, K, HOLD) is None


def test_an_unmeasured_frame_does_not_date_the_climb() -> None:
    times = [float(t) for t in range(20)]
    level = [100.0 + 0.1 * t + 3.0 * max(t - 10.0, 0.0) for t in times]
    assert knee(times, level) == 11  # the first frame after the hinge
    level[4] = math.nan  # a table row without means before the climb
    assert knee(times, level) == 11
