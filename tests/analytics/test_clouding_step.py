"""The clouding step (clouding.clouding_step): the held step of the sample contrast at nucleation."""

import math

import numpy as np
import pytest

from monitor.analytics.clouding import KEPT, WANDER, clouding_step, kept
from monitor.analytics.signals import Series, theil_sen

NAN = math.nan
# The sample contrast (B, G, R) over 32 frames around nucleation (frame 20), heavy blur, seed 15004 of the
# probe cameras: blue falls fast either side of a jump (not held), green steps by under 1 %, and red steps
# cleanly by 5 %, with two glint frames clipped white (not measured) among the ten before.
BLUE = [NAN, 1.5616, 1.5208, 1.5187, 1.4857, 1.4764, 1.471, 1.4523, 1.4383, 1.4433, 1.4325, 1.4188, 1.4172,
        1.4099, 1.4082, 1.413, 1.3954, 1.3825, 1.3697, 1.3656, 1.5401, 1.5212, 1.5031, 1.4818, 1.4815, 1.4669,
        1.4552, 1.4482, 1.4535, 1.4414, 1.4329, 1.4259]  # fmt: skip
GREEN = [1.2932, 1.2922, 1.294, 1.2938, 1.2929, 1.2917, 1.292, 1.2912, 1.2927, 1.2911, 1.2916, 1.2914,
         1.2925, 1.2923, 1.2912, 1.2937, 1.2926, 1.2917, 1.2922, 1.2911, 1.2784, 1.2787, 1.2812, 1.2797,
         1.2798, 1.282, 1.2817, 1.2806, 1.2804, 1.2818, 1.2812, 1.2822]  # fmt: skip
RED = [1.2705, NAN, NAN, 1.2695, 1.2701, 1.2706, 1.2703, 1.2701, 1.2699, 1.2697, 1.2695, 1.2706, 1.2697,
       1.2691, 1.27, NAN, NAN, 1.2686, 1.2693, 1.2703, 1.2075, 1.2074, 1.207, 1.2076, 1.2067, 1.2079,
       1.2088, 1.2071, 1.2074, 1.2063, 1.2061, 1.207]  # fmt: skip
NUCLEATION = 20


# Green and red sample contrast at 520-615 s of a dim melt cooling (fixed exposure, late-peak-low-tc, seed
# 18003; blue unmeasured): green wanders in runs held for 3-6 frames, up 1.3 % at 593 s; red clouds at 609 s.
DIM_GREEN = [1.2848, 1.2829, 1.2829, 1.2864, 1.2878, 1.2878, 1.2864, 1.284, 1.2845, 1.2864, 1.2849, 1.2852,
    1.2852, 1.2855, 1.2792, 1.2788, 1.2777, 1.2813, 1.284, 1.2857, 1.2864, 1.2868, 1.28, 1.2801, 1.284,
    1.2825, 1.2831, 1.2864, 1.2911, 1.2911, 1.293, 1.2831, 1.2812, 1.2877, 1.2857, 1.2852, 1.2844, 1.2826,
    1.2818, 1.2809, 1.2813, 1.2817, 1.2824, 1.2877, 1.2879, 1.2867, 1.2809, 1.2786, 1.2775, 1.2794, 1.2845,
    1.2845, 1.2817, 1.2787, 1.2772, 1.2766, 1.2746, 1.2764, 1.2766, 1.2805, 1.282, 1.2801, 1.2772, 1.2703,
    1.2686, 1.271, 1.2781, 1.2813, 1.2822, 1.2806, 1.2683, 1.2672, 1.2688, 1.2846, 1.2849, 1.2837, 1.2798,
    1.28, 1.2758, 1.274, 1.2729, 1.2713, 1.2709, 1.2796, 1.2821, 1.2868, 1.2821, 1.2692, 1.2666, 1.2594,
    1.2608, 1.2593, 1.2576, 1.2531, 1.2523, 1.2596]  # fmt: skip
DIM_RED = [1.2551, 1.2569, 1.257, 1.2561, 1.2554, 1.255, 1.2558, 1.256, 1.2555, 1.2558, 1.2568, 1.2562,
    1.2522, 1.2512, 1.2528, 1.2536, 1.2545, 1.2551, 1.2541, 1.2557, 1.2562, 1.257, 1.2583, 1.2562, 1.2519,
    1.2528, 1.2539, 1.2529, 1.252, 1.2536, 1.253, 1.2533, 1.2531, 1.2511, 1.2521, 1.2542, 1.2546, 1.2567,
    1.2565, 1.2538, 1.254, 1.2551, 1.2548, 1.2526, 1.2522, 1.2518, 1.2519, 1.254, 1.2546, 1.2534, 1.2499,
    1.2501, 1.2529, 1.2539, 1.254, 1.253, 1.2488, 1.2497, 1.2507, 1.2517, 1.2503, 1.2513, 1.2532, 1.2548,
    1.2565, 1.2573, 1.2543, 1.2533, 1.2516, 1.252, 1.252, 1.2528, 1.2523, 1.2507, 1.2523, 1.2539, 1.2515,
    1.2475, 1.2438, 1.2446, 1.247, 1.2494, 1.2498, 1.2479, 1.2488, 1.2501, 1.254, 1.2558, 1.2549, 1.1806,
    1.1795, 1.1819, 1.1834, 1.1863, 1.1848, 1.1782]  # fmt: skip
DIM_UP, DIM_CLOUDING = 73, 89  # 593 s, 609 s

# The same programme at 530-620 s through the same camera, fresh seed 25003: green wobbles by +-0.008 with a
# period of about 10 s; it steps up 0.014 at 593 s, holds 5 frames and comes back. Red clouds at 609 s.
WOBBLE_GREEN = [1.283, 1.2844, 1.2854, 1.2834, 1.2772, 1.2769, 1.2765, 1.2784, 1.284, 1.2847, 1.2863, 1.286,
    1.2786, 1.2825, 1.2815, 1.2811, 1.2816, 1.2888, 1.2898, 1.2906, 1.291, 1.2835, 1.2809, 1.2816, 1.2852,
    1.283, 1.2824, 1.2811, 1.2788, 1.2799, 1.2806, 1.2812, 1.2798, 1.2864, 1.287, 1.2847, 1.2784, 1.2784,
    1.2761, 1.2792, 1.2833, 1.2821, 1.2816, 1.2782, 1.2762, 1.2749, 1.2751, 1.2757, 1.278, 1.2793, 1.2817,
    1.2777, 1.2737, 1.2694, 1.2678, 1.2699, 1.2753, 1.2824, 1.2821, 1.2793, 1.2677, 1.2668, 1.2702, 1.282,
    1.2839, 1.2844, 1.2785, 1.2849, 1.2751, 1.2737, 1.2711, 1.2701, 1.2699, 1.2761, 1.2832, 1.2871, 1.2873,
    1.2649, 1.2682, 1.2581, 1.2598, 1.261, 1.2571, 1.2545, 1.2518, 1.2602, 1.2662, 1.2677, 1.2658, 1.2665,
    1.2589]  # fmt: skip
WOBBLE_RED = [1.2564, 1.2557, 1.2523, 1.2507, 1.252, 1.2535, 1.2557, 1.2551, 1.2535, 1.2553, 1.2562, 1.2571,
    1.2569, 1.2519, 1.2528, 1.2522, 1.2529, 1.252, 1.2515, 1.2518, 1.2533, 1.2535, 1.2524, 1.2521, 1.2516,
    1.2532, 1.2551, 1.2569, 1.2559, 1.2531, 1.2531, 1.254, 1.2553, 1.2524, 1.2514, 1.2522, 1.252, 1.2533,
    1.2548, 1.252, 1.2491, 1.2505, 1.2528, 1.2531, 1.253, 1.2504, 1.2495, 1.2489, 1.2505, 1.2515, 1.2506,
    1.2518, 1.2529, 1.255, 1.2566, 1.2568, 1.2555, 1.2515, 1.2521, 1.2512, 1.2515, 1.2527, 1.2525, 1.2511,
    1.2526, 1.2526, 1.2529, 1.2445, 1.2442, 1.2447, 1.2471, 1.2495, 1.2506, 1.2483, 1.2475, 1.2506, 1.2528,
    1.256, 1.2539, 1.1796, 1.1791, 1.1803, 1.1832, 1.1857, 1.1866, 1.1786, 1.1747, 1.1752, 1.1774, 1.176,
    1.1784]  # fmt: skip
WOBBLE_BLUE = [NAN] * 76 + [1.3181, 1.3784, 1.3718, 1.4334, 1.4133, 1.4126, 1.424, 1.4021, 1.3764, 1.3571,
    1.3598, 1.3643, 1.3547, 1.3732, 1.3981]  # fmt: skip
WOBBLE_UP, WOBBLE_CLOUDING = 63, 79  # 593 s, 609 s


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
    assert found.channel == 2 and found.step.index == NUCLEATION and found.margin > 2.0
    assert found.step.size == pytest.approx(1.2074 - 1.2699, abs=0.001)
    # Nothing held steps on the frames before it.
    assert all(clouding_step(channels(BLUE, GREEN, RED), i, start=0, hold=5) is None for i in range(5, 20))


def test_a_dim_channel_wandering_in_held_runs_steps_without_clouding() -> None:
    blue = [NAN] * len(DIM_GREEN)
    sample = channels(blue, DIM_GREEN, DIM_RED)
    # Green's up-step beats four times its frame-to-frame noise and 1 % of its level ...
    green = sample[1]
    up = green.step_at(DIM_UP, start=0, hold=3)
    assert up is not None and up.size > max(4.0 * up.noise, 0.01 * 1.28)
    # ... but not the spread of the held steps green took before it, and nothing else steps till red clouds.
    assert all(clouding_step(sample, i, start=0, hold=3) is None for i in range(10, DIM_CLOUDING))
    found = clouding_step(sample, DIM_CLOUDING, start=0, hold=3)
    assert found is not None
    assert found.channel == 2 and found.step.index == DIM_CLOUDING and found.margin > 3.0
    # The evidence names both measures the threshold is made of, the frame noise and the held steps' spread.
    assert f"noise {found.step.noise:.4f}/frame" in found.note
    assert found.wander > 0 and f"held steps before {found.wander / WANDER:.4f} spread" in found.note


def test_on_white_noise_the_held_steps_spread_adds_nothing_to_the_frame_noise() -> None:
    rng = np.random.default_rng(7)
    series = channels(list(1.3 + 0.002 * rng.standard_normal(200)))[0]
    for i in range(80, 200, 10):
        assert 0.0 < WANDER * series.step_spread(i, start=0, hold=3) < 4.0 * series.noise_before(i)


# The sample contrast at 415-445 s through the offset-far camera (hot-fast-cooling, fresh seed 23001): a glint
# at 423-424 s, then the gain steps up, and red is clipped for three frames (424-426 s) at the head of the
# ten before nucleation (435 s); blue, just out of clipping, jumps and then falls fast.
FAR_BLUE = [NAN] * 9 + [1.5391, 1.4957, 1.481, 1.4735, 1.4614, 1.4401, 1.4329, 1.4033, 1.4001, 1.3864, 1.3893,
    1.6431, 1.5963, 1.5885, 1.5504, 1.5453, 1.5232, 1.4855, 1.4823, 1.4763, 1.4627, 1.4589]  # fmt: skip
FAR_GREEN = [1.2586, 1.2578, 1.2563, 1.2579, 1.2552, 1.2549, 1.2584, 1.2575, 1.2535, 1.2586, 1.2585, 1.2578,
    1.2569, 1.2546, 1.2549, 1.254, 1.255, 1.2559, 1.2563, 1.2537, 1.2415, 1.2382, 1.2412, 1.2404, 1.2389,
    1.2423, 1.2391, 1.2398, 1.242, 1.2456, 1.2435]  # fmt: skip
FAR_RED = [1.2274, 1.2267, 1.2273, 1.2289, 1.2247, 1.2279, 1.2262, 1.2253, 1.226, NAN, NAN, NAN, 1.2286,
    1.2263, 1.2252, 1.2251, 1.2258, 1.2248, 1.2262, 1.2254, 1.1462, 1.1436, 1.1457, 1.1464, 1.1472, 1.1467,
    1.1469, 1.1447, 1.1474, 1.1476, 1.149]  # fmt: skip
FAR_NUCLEATION = 20


def test_a_channel_clipped_at_the_head_of_the_frames_before_keeps_the_level_it_had() -> None:
    found = clouding_step(channels(FAR_BLUE, FAR_GREEN, FAR_RED), FAR_NUCLEATION, start=0, hold=5)
    assert found is not None
    assert found.channel == 2 and found.step.index == FAR_NUCLEATION and found.margin > 3.0
    assert found.step.size == pytest.approx(1.1464 - 1.2258, abs=0.002)
    assert all(
        clouding_step(channels(FAR_BLUE, FAR_GREEN, FAR_RED), i, start=0, hold=5) is None
        for i in range(12, FAR_NUCLEATION)
    )


def test_a_channel_not_measured_before_the_window_s_start_has_no_level_yet() -> None:
    """A channel only just out of clipping (a dim one as the gain rises), or clipped for longer than a glint
    lasts, gives no level on its first frames back; nor does one whose last level lies before `start`."""
    found_red = clouding_step(channels(BLUE, GREEN, RED), NUCLEATION, start=0, hold=5)
    assert found_red is not None and found_red.channel == 2
    never = [NAN] * 12 + RED[12:]
    assert clouding_step(channels(BLUE, GREEN, never), NUCLEATION, start=0, hold=5) is None
    long_gap = list(RED)
    long_gap[1:12] = [NAN] * 11  # 11 frames > GLINT_FRAMES
    assert clouding_step(channels(BLUE, GREEN, long_gap), NUCLEATION, start=0, hold=5) is None
    short_gap = list(RED)
    short_gap[8:12] = [NAN] * 4
    assert clouding_step(channels(BLUE, GREEN, short_gap), NUCLEATION, start=0, hold=5) is not None
    assert clouding_step(channels(BLUE, GREEN, short_gap), NUCLEATION, start=8, hold=5) is None


def test_theil_sen_leaves_unmeasured_points_out_in_their_places() -> None:
    y = np.array([0.0, 1.0, NAN, 3.0, NAN, 5.0])
    assert theil_sen(y) == pytest.approx(1.0)
    assert math.isnan(theil_sen(np.array([NAN, 2.0, NAN])))


def kept_after(series: Series, i: int, size: float, hold: int = 5) -> bool:
    """Whether the frames after the hold of a step into frame i keep it, as clouding_step asks it."""
    window = np.asarray(series.values[i - 10 : i], dtype=float)
    later = series.values[i + hold : i + 2 * hold]
    return (
        kept(later, hold, float(np.nanmedian(window)), size, theil_sen(window), (hold - 1) / 2 + 5.5) >= KEPT
    )


def test_a_held_step_that_comes_back_is_not_the_clouding() -> None:
    sample = channels(WOBBLE_BLUE, WOBBLE_GREEN, WOBBLE_RED)
    green = sample[1]
    # Green's up-step holds its 5 frames and stands out of everything green did before ...
    up = green.step_at(WOBBLE_UP, start=0, hold=5)
    wander = WANDER * green.step_spread(WOBBLE_UP, start=0, hold=5)
    assert up is not None and up.size > max(4.0 * up.noise, wander)
    # ... but returns within the next 5 (a clouded melt stays clouded), so nothing clouds till red does.
    assert not kept_after(green, WOBBLE_UP, up.size)
    assert all(clouding_step(sample, i, start=0, hold=5) is None for i in range(10, WOBBLE_CLOUDING))
    found = clouding_step(sample, WOBBLE_CLOUDING, start=0, hold=5)
    assert found is not None and found.channel == 2 and found.step.index == WOBBLE_CLOUDING
    assert found.step.size == pytest.approx(1.1796 - 1.252, abs=0.003)


# The sample contrast at 470-516 s, narrow auto exposure, cold-start-jitter seed 21004: blue falls about
# 0.011/frame, jumps +0.18 at nucleation (503 s) and goes on falling; green steps down 1 %; red clips.
FALLING_BLUE = [*[NAN] * 14, 1.597, 1.5562, 1.5256, 1.5343, 1.5282, 1.5223, 1.489, 1.4738, 1.4744, 1.4576,
    1.438, 1.4354, 1.4246, 1.4305, 1.4093, 1.4008, 1.4041, 1.397, 1.3972, 1.5748, 1.5625, 1.548, 1.54,
    1.5158, 1.5046, 1.4922, 1.4774, 1.4791, 1.4806, 1.4562, 1.446, 1.4402, 1.4377]  # fmt: skip
FALLING_GREEN = [1.2844, 1.2861, 1.2862, 1.2849, 1.2867, 1.2873, 1.2855, 1.287, 1.286, 1.2864, 1.2834,
    1.2846, 1.2842, 1.2834, 1.2851, 1.2821, 1.286, 1.2847, 1.285, 1.2848, 1.2869, 1.2832, 1.2846, 1.283,
    1.2828, 1.2809, 1.2823, 1.2822, 1.2831, 1.2851, 1.2832, 1.2838, 1.2814, 1.2701, 1.27, 1.2701, 1.271,
    1.2714, 1.2723, 1.2716, 1.2704, 1.2697, 1.2723, 1.2733, 1.2711, 1.2706, 1.2692]  # fmt: skip
FALLING_RED = [*[NAN] * 22, 1.2585, 1.2586, 1.2583, 1.2571, 1.2573, 1.2568, 1.258, 1.2569, 1.2584,
    *[NAN] * 16]  # fmt: skip
FALLING_NUCLEATION = 33


def test_a_step_against_the_channels_own_drift_is_kept_along_its_trend() -> None:
    sample = channels(FALLING_BLUE, FALLING_GREEN, FALLING_RED)
    blue = sample[0]
    up = blue.step_at(FALLING_NUCLEATION, start=0, hold=5)
    assert up is not None and up.size > 0.1
    # The frames after the hold are back to under half the step above the old median (the drift alone) ...
    later = np.median(FALLING_BLUE[FALLING_NUCLEATION + 5 : FALLING_NUCLEATION + 10])
    old = np.median(FALLING_BLUE[FALLING_NUCLEATION - 10 : FALLING_NUCLEATION])
    assert later - old < 0.5 * up.size
    # ... but stay well above the line blue was falling along, so the clouding is dated at its step.
    assert kept_after(blue, FALLING_NUCLEATION, up.size)
    found = clouding_step(sample, FALLING_NUCLEATION, start=0, hold=5)
    assert found is not None and found.channel == 0 and found.step.index == FALLING_NUCLEATION
    assert found.kept > 0.8 and f"{found.kept:.2f} of it kept after its hold" in found.note
    assert all(clouding_step(sample, i, start=0, hold=5) is None for i in range(10, FALLING_NUCLEATION))


def test_a_clouding_judged_before_its_second_hold_is_seen_is_not_found() -> None:
    # Only 9 frames after red's step: its hold is there, the 5 frames to show it stays are not.
    sample = channels(BLUE[: NUCLEATION + 9], GREEN[: NUCLEATION + 9], RED[: NUCLEATION + 9])
    assert sample[2].step_at(NUCLEATION, start=0, hold=5) is not None
    assert clouding_step(sample, NUCLEATION, start=0, hold=5) is None


def test_a_glint_over_the_frames_after_the_hold_does_not_veto_the_clouding() -> None:
    # Red's clouding with the 5 frames after its hold clipped by a long glint (not measured): nothing there
    # says the melt cleared again, so the step stands; with 2 of them measured back at the old level, it goes.
    glinted = [*RED[: NUCLEATION + 5], *[NAN] * 5]
    sample = channels(BLUE[: NUCLEATION + 10], GREEN[: NUCLEATION + 10], glinted)
    found = clouding_step(sample, NUCLEATION, start=0, hold=5)
    assert found is not None and found.channel == 2 and "kept" not in found.note
    cleared = channels([*RED[: NUCLEATION + 5], NAN, 1.27, NAN, 1.2698, NAN])[0]
    assert not kept_after(cleared, NUCLEATION, 1.2074 - 1.2699)
