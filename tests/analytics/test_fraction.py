"""The online crystal fraction: the textured share grown since crystallization_start, scaled."""

import pytest

from monitor.analytics.fraction import OnlineFraction


def test_the_melt_baseline_is_the_median_of_the_frames_up_to_the_start_not_one_noisy_frame() -> None:
    fraction = OnlineFraction()
    for share in (0.50, 0.52, 0.48):  # powder while heating
        fraction.heating(share)
    melt = [0.10, 0.11, 0.09, 0.10, 0.12, 0.08, 0.10, 0.11, 0.09, 0.10]
    for t, share in enumerate([*melt, 0.16], start=500):  # the start frame's share is a noisy high one
        fraction.observe(float(t), share)
    fraction.observe(511.0, 0.20)  # a frame after the start, before the detector confirmed it
    fraction.started(510.0)
    # median melt 0.10, powder 0.50: a share of 0.14 is 10 % grown (one frame's 0.16 would have said 0)
    assert fraction.value(0.14) == pytest.approx(0.1)
    assert fraction.value(0.05) == 0.0 and fraction.value(0.9) == 1.0
    fraction.ended()
    assert fraction.value(0.2) == 1.0


def test_before_the_start_there_is_no_fraction() -> None:
    fraction = OnlineFraction()
    fraction.heating(0.5)
    fraction.observe(100.0, 0.1)
    assert fraction.value(0.3) is None
