"""The clouding step (signals.clouding_step): the held step of the sample contrast at nucleation."""

import math

import numpy as np
import pytest

from monitor.analytics.signals import Series, clouding_step, theil_sen

NAN = math.nan
# The sample contrast (B, G, R) over 27 frames around nucleation (frame 20), heavy blur, seed 15004 of the
# probe cameras: blue falls fast either side of a jump (not held), green steps by under 1 %, and red steps
# cleanly by 5 %, with two glint frames clipped white (not measured) among the ten before.
BLUE = [NAN, 1.5616, 1.5208, 1.5187, 1.4857, 1.4764, 1.471, 1.4523, 1.4383, 1.4433, 1.4325, 1.4188, 1.4172,
        1.4099, 1.4082, 1.413, 1.3954, 1.3825, 1.3697, 1.3656, 1.5401, 1.5212, 1.5031, 1.4818, 1.4815, 1.4669,
        1.4552]  # fmt: skip
GREEN = [1.2932, 1.2922, 1.294, 1.2938, 1.2929, 1.2917, 1.292, 1.2912, 1.2927, 1.2911, 1.2916, 1.2914,
         1.2925, 1.2923, 1.2912, 1.2937, 1.2926, 1.2917, 1.2922, 1.2911, 1.2784, 1.2787, 1.2812, 1.2797,
         1.2798, 1.282, 1.2817]  # fmt: skip
RED = [1.2705, NAN, NAN, 1.2695, 1.2701, 1.2706, 1.2703, 1.2701, 1.2699, 1.2697, 1.2695, 1.2706, 1.2697,
       1.2691, 1.27, NAN, NAN, 1.2686, 1.2693, 1.2703, 1.2075, 1.2074, 1.207, 1.2076, 1.2067, 1.2079,
       1.2088]  # fmt: skip
NUCLEATION = 20


def channels(*values: list[float]) -> list[Series]:
    out = []
    for v in values:
        s = Series()
        s.values = list(v)
        out.append(s)
    return out


def test_a_glint_clipping_the_channel_before_the_step_leaves_its_level_known() -> None:
    found = clouding_step(channels(BLUE, GREEN, RED), NUCLEATION, start=0, hold=5)
    assert found is not None
    margin, channel, step, _ = found
    assert channel == 2 and step.index == NUCLEATION and margin > 2.0
    assert step.size == pytest.approx(1.2074 - 1.2699, abs=0.001)
    # Nothing held steps on the frames before it.
    assert all(clouding_step(channels(BLUE, GREEN, RED), i, start=0, hold=5) is None for i in range(5, 20))


def test_a_channel_not_measured_at_the_window_s_start_has_no_level_yet() -> None:
    """A channel only just out of clipping (a dim one as the gain rises): its first frames give no level."""
    red = list(RED)
    red[10:15] = [NAN] * 5
    assert clouding_step(channels(BLUE, GREEN, red), NUCLEATION, start=0, hold=5) is None


def test_theil_sen_leaves_unmeasured_points_out_in_their_places() -> None:
    y = np.array([0.0, 1.0, NAN, 3.0, NAN, 5.0])
    assert theil_sen(y) == pytest.approx(1.0)
    assert math.isnan(theil_sen(np.array([NAN, 2.0, NAN])))
