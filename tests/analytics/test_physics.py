"""The physics every event must obey, on synthetic signal series: order, nothing in the 1# hold,
crystallization only while cooling below the fully-molten 1#, glints and camera steps are not transitions,
and the real run's events."""

import math
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest

from monitor.analytics.camera import CameraTracker
from monitor.analytics.detector import Observation, StageDetector
from monitor.analytics.photometric import StepMeasure
from monitor.analytics.result import AnalysisResult
from monitor.config.overlay import PlausibilityConfig
from monitor.pipeline.batch import analyze_table
from monitor.records import EventType, FlagKind, Stage
from tests.conftest import SHARED_DATA

HOLD_FROM, COOL_FROM = 222, 321  # 1# reaches 1500 degC, then cools at 2 degC/s


def t1_at(t: float) -> float:
    if t < HOLD_FROM:
        return 900.0 + 600.0 * (t - 110) / (HOLD_FROM - 110)
    return 1500.0 if t <= COOL_FROM else 1500.0 - 2.0 * (t - COOL_FROM)


def level_at(t: float) -> float:
    """Heating, a melt flash 128..148 s that collapses, a clearing drop at 192 s, then a slow dimming."""
    if t < 128:
        return 100.0 + 0.1 * (t - 110)
    if t <= 148:
        return 102.0 + 3.0 * (t - 127)
    level = 110.0 if t < 192 else 88.0
    return level - (0.05 * (t - COOL_FROM) if t > COOL_FROM else 0.0)


def run(
    *,
    sample_steps: dict[int, float] | None = None,
    glints: dict[int, int] | None = None,
    textured: bool = True,
    until: int = 700,
    drift: float = 0.0,
    flicker: float = 0.0,
    seed: int = 0,
    begin: int = 110,
    liquidus_c: float | None = None,
) -> StageDetector:
    """Feed 110..until s; `sample_steps` multiplies the sample contrast from a time on, `glints` adds a
    3-frame excursion (of both signals) at a time; the texture grows from the first step on, and the crystals'
    contrast gains `drift` of itself per frame as they cool and dim; a light flickering by `flicker` (+-, each
    frame) scales the level. `begin`: the recording's first second; `liquidus_c`: the flux's, configured."""
    sample_steps, glints = sample_steps or {}, glints or {}
    rng = np.random.default_rng(seed)
    detector = StageDetector(liquidus_c=liquidus_c)
    grow_from = min(sample_steps, default=math.inf)
    for t in range(begin, until):
        sample = 1.25
        for at, factor in sample_steps.items():
            if t >= at:
                sample *= factor
        level = level_at(t) * (1.0 + rng.uniform(-flicker, flicker))
        for at, frames in glints.items():
            if at <= t < at + frames:
                level *= 1.25
                sample *= 1.06
        # JMAK growth (n = 2.5) from the first sample step, 97 % crystalline 80 s later.
        tau = max(t - grow_from, 0.0) / 48.46
        share = 0.002 + (0.4 * (1.0 - math.exp(-(tau**2.5))) if textured else 0.0)
        share *= 1.0 + drift * max(t - grow_from, 0.0)
        detector.update(
            Observation(float(t), f"{t:04d}.jpg", level + rng.normal(0, 0.2), t1_at(t),
                        sample=tuple(sample * c + rng.normal(0, 0.001) for c in (1.0, 0.9, 1.1)),
                        texture=share + rng.normal(0, 0.001))
        )  # fmt: skip
    return detector


def found(detector: StageDetector) -> dict[EventType, float]:
    return {e.type: e.time_s for e in detector.events}


def test_a_clean_run_gives_every_event_in_order() -> None:
    events = found(run(sample_steps={560: 0.96}))
    assert list(events) == list(EventType)
    # Where the climb begins (127 is the last frame of heating), not where the window that confirmed it did.
    assert events[EventType.MELTING_START] == 128
    assert events[EventType.FULLY_MOLTEN] == 192 and events[EventType.CRYSTALLIZATION_START] == 560
    # The end target is 5 s: a smooth end's plateau keeps creeping up for a while, so it is judged early.
    assert events[EventType.CRYSTALLIZATION_END] == pytest.approx(640, abs=5)


def test_the_end_of_growth_holds_while_the_crystals_keep_gaining_contrast() -> None:
    """The texture keeps rising after the end (0.1 % of the crystals' contrast per frame): growth has still
    ended, within the 5 s target, and not later as a growth curve fitted through the drift would put it."""
    events = found(run(sample_steps={560: 0.96}, drift=0.001))
    assert events[EventType.CRYSTALLIZATION_END] == pytest.approx(640, abs=5)


@pytest.mark.parametrize("seed", range(20))
def test_a_flickering_light_s_spikes_are_no_melt_flash(seed: int) -> None:
    """+-4 % flicker (about +-4 grey levels here): a spike and its fall while heating are within the level's
    own jitter, so melting_start is the climb's, melting_complete the flash's collapse, and fully_molten the
    clearing after it. (Seed 1 was the case for the flash: a spike at 123 s was taken for it and
    fully_molten came at 149 s. Seed 4: a spike one frame before the top was the peak, and the collapse
    came three frames after it, too late.) melting_start used to be lost on seeds 7 and 18: the heating pace,
    read from frame-to-frame steps, came out so high under the flicker that the climb never beat 3x it. It
    was 4-7 s early on seeds 1, 8 and 19: the first frames a climb may be judged on hold too few windows to
    know the flicker by, and a spike was taken for the climb."""
    events = found(run(sample_steps={560: 0.96}, flicker=0.04, seed=seed))
    assert events[EventType.MELTING_START] == pytest.approx(128, abs=3)
    assert events[EventType.MELTING_COMPLETE] == pytest.approx(148, abs=3)
    assert events[EventType.FULLY_MOLTEN] == pytest.approx(192, abs=3)


def test_the_clearing_under_a_strong_flicker_is_found_and_nothing_else_is_taken_for_it() -> None:
    """+-6 % flicker, the clearing a 20 % drop: about 3.7 times the level's frame-to-frame noise. A held drop
    compares two medians, whose difference varies by about half that noise, so the drop stands six of its
    standard deviations clear; at 4x the noise it was missed on 28 of these 40 seeds (and on 4 of 98 noisy
    probe runs, among them fast-cool-short and steep-kinetics, which then lost every later event too). Some
    seeds still miss it by chance; none may put it anywhere else."""
    runs = [found(run(flicker=0.06, seed=seed, until=300)) for seed in range(40)]
    found_at = [events.get(EventType.FULLY_MOLTEN) for events in runs]
    assert all(t is None or abs(t - 192) <= 3 for t in found_at)
    assert sum(t is not None for t in found_at) >= 30


def test_a_small_held_drop_as_the_melt_settles_is_no_clearing() -> None:
    """No flicker, no noise to speak of (0.2): a held drop of 6 at 160 s, the melt settling after the flash's
    collapse (55), is significant but 11 % of the collapse; the clearing, a drop of 22 at 192 s, is 40 %.
    With only the noise to beat, the settling was taken for the clearing 31 s early (fresh seed 14002,
    flicker and dropped seconds)."""
    rng = np.random.default_rng(0)
    detector = StageDetector()
    for t in range(110, 260):
        level = level_at(t) - (6.0 if t >= 160 else 0.0)
        detector.update(Observation(float(t), f"{t:04d}.jpg", level + rng.normal(0, 0.2), t1_at(t)))
    assert found(detector)[EventType.FULLY_MOLTEN] == 192


@pytest.mark.parametrize("seed", range(5))
def test_a_drop_within_the_heating_s_flicker_is_no_clearing(seed: int) -> None:
    """+-4 % flicker while heating, then by chance a quiet stretch as the collapse settles (149-160 s) and a
    drop of 7 held for 5 frames (163 s), the flicker resuming after: against the quiet stretch's own noise
    (about 0.2) that drop was the clearing, 29 s early (an unseen sweep run, flicker and dropped seconds,
    seed 5003: fully_molten 33 s early). The heating's jitter is the floor: the clearing is the drop at 192 s.
    Without the flicker while heating, the same drop is the clearing (checked: the floor is what decides).
    The flash here climbs 1.5 a frame, so that the drop is a clearing's share of its collapse (CLEARING)."""

    def level(t: int, rng: np.random.Generator, flicker: float) -> float:
        if t <= 148 or t >= 168:
            smaller = 102.0 + 1.5 * (t - 127) if 128 <= t <= 148 else level_at(t)
            return smaller * (1.0 + rng.uniform(-flicker, flicker))
        return 112.5 if t in (161, 162) else 103.0 if t >= 163 else 110.0

    for flicker, clearing in ((0.04, 192), (0.0, 163)):
        rng = np.random.default_rng(seed)
        detector = StageDetector()
        for t in range(110, 260):
            detector.update(Observation(float(t), f"{t:04d}.jpg", level(t, rng, flicker) + rng.normal(0, 0.2),
                                        t1_at(t)))  # fmt: skip
        events = found(detector)
        assert events[EventType.MELTING_COMPLETE] == pytest.approx(148, abs=3)
        assert events[EventType.FULLY_MOLTEN] == pytest.approx(clearing, abs=3), flicker


def test_a_flash_with_a_flat_top_completes_melting_at_the_top_s_last_frame() -> None:
    """The flash's last four frames level off (here a glint, taken for a gain step since it ended as the
    flash collapsed, held them at 160): its highest frame is the first of them, two frames before the
    collapse, and the collapse must be read from the top's last frame (a run from the sweep, seed 2001, lost
    every event after melting_start to this)."""
    detector = StageDetector()
    rng = np.random.default_rng(3)
    top = {145: 160.3, 146: 160.0, 147: 160.1, 148: 160.2}
    for t in range(110, 260):
        level = top.get(t, level_at(t) + rng.normal(0, 0.2))
        detector.update(Observation(float(t), f"{t:04d}.jpg", level, t1_at(t), sample=(1.25, 1.2, 1.1)))
    events = found(detector)
    assert events[EventType.MELTING_COMPLETE] == 148 and events[EventType.FULLY_MOLTEN] == 192


def test_a_pause_in_growth_is_not_its_end() -> None:
    """Growth that stalls for 8 frames at 80 % and then goes on: the end is where it finally stops (97 % at
    636 s), not the stall."""
    detector = StageDetector()
    rng = np.random.default_rng(1)
    for t in range(110, 760):
        grown = min(max(t - 560, 0) / 70.0, 1.0)
        if t >= 616:
            grown = 0.8 if t < 624 else min(0.8 + (t - 624) / 70.0, 1.0)
        sample = tuple((1.25 if t < 560 else 1.2) * c + rng.normal(0, 0.001) for c in (1.0, 0.9, 1.1))
        detector.update(
            Observation(float(t), f"{t:04d}.jpg", level_at(t) + rng.normal(0, 0.2), t1_at(t),
                        sample=sample, texture=0.002 + 0.4 * grown + rng.normal(0, 0.001))
        )  # fmt: skip
    events = found(detector)
    assert events[EventType.CRYSTALLIZATION_END] == pytest.approx(636, abs=5)


def test_a_gain_ramp_right_after_the_clearing_does_not_hide_it() -> None:
    """The camera brightens 8 % a frame for four frames from the frame after the clearing drop (192 s), and a
    reflection flares on the next: the ramp is known only when the flare has gone, after the drop's frames
    were judged with the raw levels. Revised, they show the drop, and fully molten is dated at it."""
    detector, tracker = StageDetector(), CameraTracker()
    rng = np.random.default_rng(2)
    previous = None
    for t in range(110, 300):
        gain = 1.08 ** min(max(t - 192, 0), 4)
        mean = level_at(t) * gain * (1.2 if t == 197 else 1.0) + rng.normal(0, 0.2)
        # What measure_step says of frames (tested in test_camera.py): the camera's moves are uniform.
        moved = previous is not None and (192 < t <= 198)
        ratio = 0.0 if previous is None else math.log(mean / previous)
        step = StepMeasure(ratio, uniform=moved, channels=(ratio,) * 3, pixel_share=1.0 if moved else 0.3)
        state = tracker.observe(mean, step)
        detector.revise(tracker.take_revisions())
        detector.update(Observation(float(t), f"{t:04d}.jpg", state.level, t1_at(t)))
        previous = mean
    assert [i + 110 for i in range(190) if tracker.flags(i)] == [193, 194, 195, 196, 197]
    assert found(detector)[EventType.FULLY_MOLTEN] == 192


def test_a_flash_whose_climb_a_provisional_gain_step_hid_is_judged_again_once_it_is_given_back() -> None:
    """Under a +-6 % flicker the camera tracker took a flash's climb for gain steps no auto exposure makes
    (probe programme low-liquidus-hot: 9.5 % on the flash's third frame, 15 % more on its eleventh) and gave
    them back to the scene only when no glint's return had come, 20 frames on. Judged only on the levels as
    they were given, melting_start was missed on 4 of these 20 seeds (and on quick-ramp-hot) and within 3 s
    on 7; the windows over the revised levels are judged again: found on all, within 3 s on 10. (Waiting for
    the steps to be given back put 18 within 3 s, but where a glint's frames are bridged at the trend before
    it, a flash beginning under a glint lost its first frames: +1 -> +4 s on three probe cameras, seed 17003.)
    """
    errors = [melting_start_under_hidden_climb(seed) - 128 for seed in range(20)]
    assert max(errors) < math.inf and sum(abs(e) <= 3 for e in errors) >= 10


def melting_start_under_hidden_climb(seed: int) -> float:
    detector = StageDetector()
    rng = np.random.default_rng(seed)
    levels: list[float] = []
    for t in range(110, 300):
        level = level_at(t) * (1.0 + rng.uniform(-0.06, 0.06))
        levels.append(level)
        hidden = (1.095 if 130 <= t <= 150 else 1.0) * (1.15 if 138 <= t <= 150 else 1.0)
        if t == 151:  # the steps are given back: every level since the first is revised
            detector.revise([(i - 110, levels[i - 110]) for i in range(130, 151)])
        detector.update(Observation(float(t), f"{t:04d}.jpg", level / hidden, t1_at(t)))
    return found(detector).get(EventType.MELTING_START, math.inf)


def test_the_biggest_drop_being_a_glint_in_early_cooling_gives_no_crystallization_start() -> None:
    """The real run's trap: a 3-frame glint at 355 s, while 1# (1432 degC) is still above its fully-molten
    value; its end is the biggest drop after the flash. No crystallization may come of it."""
    detector = run(glints={355: 3})
    assert EventType.CRYSTALLIZATION_START not in found(detector)
    why = {m.type: m.reason for m in detector.not_found()}
    assert "sample contrast" in why[EventType.CRYSTALLIZATION_START]


def test_a_glint_in_the_sample_signal_during_crystallizing_temperatures_is_not_a_start_either() -> None:
    detector = run(glints={500: 3})  # 1# 1142 degC: below the liquidus, but the excursion comes back
    assert EventType.CRYSTALLIZATION_START not in found(detector)


def test_a_channel_just_out_of_clipping_has_no_level_to_step_from() -> None:
    """Blue comes out of the black at 595 s as the camera raises its gain, and its ratio settles 2 % lower
    within six frames (near black, a channel's ratio does not scale with the gain): no baseline yet, so no
    step. The sample's own step at 640 s is the start (a run from the sweep, seed 2003, had it 6 s early)."""

    def sample_at(t: int) -> tuple[float, float, float]:
        blue = math.nan if t < 595 else (1.43 if t < 601 else 1.40) + (0.1 if t >= 640 else 0.0)
        return blue, 1.34, 1.3 - (0.07 if t >= 640 else 0.0)

    detector = fed_sample(sample_at, noise=0.001, seed=4)
    assert found(detector)[EventType.CRYSTALLIZATION_START] == 640


def fed_sample(
    sample_at: Callable[[int], tuple[float, float, float]], *, noise: float, seed: int
) -> StageDetector:
    """A detector fed 110..699 s of the clean run's level and 1#, with the sample contrast `sample_at(t)`
    (B, G, R) plus `noise` on each channel and an even texture."""
    detector = StageDetector()
    rng = np.random.default_rng(seed)
    for t in range(110, 700):
        sample = tuple(v + rng.normal(0, noise) for v in sample_at(t))
        detector.update(Observation(float(t), f"{t:04d}.jpg", level_at(t) + rng.normal(0, 0.2), t1_at(t),
                                    sample=sample, texture=0.002))  # fmt: skip
    return detector


@pytest.mark.parametrize("seed", range(5))
def test_a_melt_drifting_in_colour_as_it_cools_is_no_crystallization_start(seed: int) -> None:
    """As the melt cools its blue contrast falls 0.0036 a frame (noise 0.0075 frame to frame). The medians
    either side of a frame lie 7.5 frames apart: that drift alone was close to a step of four times the
    noise, and a noisy frame made it one (an unseen programme, zoomed camera, seed 12002:
    crystallization_start 15 s early). The clouding at 640 s, blue up 0.08 and red down 0.07 on top of the
    drift, is the start."""

    def sample_at(t: int) -> tuple[float, float, float]:
        blue = 1.45 - 0.0036 * max(t - COOL_FROM, 0) + (0.08 if t >= 640 else 0.0)
        return blue, 1.17, 1.14 - (0.07 if t >= 640 else 0.0)

    detector = fed_sample(sample_at, noise=0.0053, seed=seed)
    assert found(detector)[EventType.CRYSTALLIZATION_START] == 640


def test_no_crystallization_start_while_1_is_above_its_fully_molten_value() -> None:
    """A held change of the sample at 340 s (1462 degC, above the 1326-1368 degC of fully molten) is not
    nucleation; the one at 560 s is."""
    events = found(run(sample_steps={340: 0.96, 560: 0.96}))
    assert events[EventType.CRYSTALLIZATION_START] == 560


def test_nothing_happens_during_the_hold() -> None:
    """With the clearing drop moved into the hold (it cannot be seen before), fully molten is not dated in
    the hold, and so nothing later either: a missed alert, not a wrong one."""
    detector = StageDetector()
    for t in range(110, 600):
        level = level_at(t) if t < 192 else (110.0 if t < 260 else 88.0)
        detector.update(
            Observation(float(t), f"{t}", level, t1_at(t), sample=(1.25, 1.2, 1.1), texture=0.002)
        )
    events = found(detector)
    assert EventType.FULLY_MOLTEN not in events
    assert all(not HOLD_FROM <= t <= COOL_FROM for t in events.values())
    why = {m.type: m.reason for m in detector.not_found()}
    assert "hold" in why[EventType.FULLY_MOLTEN]
    assert "liquidus is unknown" in why[EventType.CRYSTALLIZATION_START]


@pytest.mark.parametrize("begin", [210, 300])
def test_a_recording_begun_late_finds_crystallization_below_the_configured_liquidus(begin: int) -> None:
    """The camera started after fully molten (210 s) or in the hold (300 s): the heating events cannot be
    seen, and are given up once 1# has held its peak, with the reason (no flash is found in hindsight). The
    crystallization events are still found, below the flux's configured liquidus (1350 degC): the held
    change at 340 s (1462 degC) is not nucleation, the one at 560 s (1022 degC) is."""
    assert found(run(sample_steps={340: 0.96, 560: 0.96}, begin=begin, liquidus_c=1350.0)) == {
        EventType.CRYSTALLIZATION_START: 560
    }
    detector = run(sample_steps={560: 0.96}, begin=begin, liquidus_c=1350.0)
    events = found(detector)
    assert list(events) == [EventType.CRYSTALLIZATION_START, EventType.CRYSTALLIZATION_END]
    assert events[EventType.CRYSTALLIZATION_START] == 560
    assert events[EventType.CRYSTALLIZATION_END] == pytest.approx(640, abs=5)
    start = next(e for e in detector.events if e.type is EventType.CRYSTALLIZATION_START)
    assert ("1# below the configured liquidus", 1022.0, 1350.0) in [
        (e.signal, e.value, e.threshold) for e in start.evidence
    ]
    why = {m.type: m.reason for m in detector.not_found()}
    assert all("hold" in why[k] for k in (EventType.MELTING_START, EventType.FULLY_MOLTEN))
    # 1# tells the cooling stage, the melt before it unseen.
    assert [detector.stage_of(t) for t in (330, 600, 700)] == [
        Stage.COOLING,
        Stage.CRYSTALLIZING,
        Stage.SOLID,
    ]


@pytest.mark.parametrize("begin", [132, 138])
def test_a_recording_begun_during_the_melt_finds_its_collapse_and_clearing_in_hindsight(begin: int) -> None:
    """The camera started while the flash climbed (128-148 s): melting_start cannot be seen. Once 1# has
    held, the collapse (148 s) and the clearing (192 s) are looked for on the frames before the hold, so the
    run has its own liquidus and needs none configured: the change at 340 s (1462 degC) is no nucleation,
    the one at 560 s is."""
    assert found(run(sample_steps={340: 0.96, 560: 0.96}, begin=begin)) == {
        EventType.MELTING_COMPLETE: 148,
        EventType.FULLY_MOLTEN: 192,
        EventType.CRYSTALLIZATION_START: 560,
    }
    detector = run(sample_steps={560: 0.96}, begin=begin)
    events = found(detector)
    assert list(events)[:3] == [
        EventType.MELTING_COMPLETE,
        EventType.FULLY_MOLTEN,
        EventType.CRYSTALLIZATION_START,
    ]
    assert events[EventType.CRYSTALLIZATION_END] == pytest.approx(640, abs=5)
    complete = next(e for e in detector.events if e.type is EventType.MELTING_COMPLETE)
    assert "in hindsight" in complete.evidence[0].note
    assert "hold" in {m.type: m.reason for m in detector.not_found()}[EventType.MELTING_START]


def test_a_recording_begun_late_without_a_liquidus_reports_no_crystallization_and_why() -> None:
    """Without fully_molten nor a configured liquidus, nucleation cannot be told from a change above the
    liquidus (the real run's 1427 degC trap): not found, and the reason names the setting."""
    detector = run(sample_steps={560: 0.96}, begin=210)
    assert found(detector) == {}
    why = {m.type: m.reason for m in detector.not_found()}
    assert "analytics.liquidus_c" in why[EventType.CRYSTALLIZATION_START]


def test_a_configured_liquidus_does_not_move_a_run_that_shows_fully_molten() -> None:
    """The run's own fully-molten 1# bounds it: a liquidus set (wrongly) low changes nothing."""
    events = found(run(sample_steps={560: 0.96}, liquidus_c=900.0))
    assert events == found(run(sample_steps={560: 0.96}))


def test_the_real_run() -> None:
    """The real series (channel means, no frames): the heating events, no event on the glint, on an
    exposure step or in the hold, the exposure steps after 400 s flagged, and crystallization not decided,
    with the reason."""
    result = analyze_table(
        SHARED_DATA / "frame_channel_means.csv", SHARED_DATA / "ocr_temperatures.csv", run="apmcm2022a",
        plausibility=PlausibilityConfig(),
    )  # fmt: skip
    events = {e.type: e for e in result.events}
    assert {k: e.time_s for k, e in events.items()} == {
        EventType.MELTING_START: 120,
        EventType.MELTING_COMPLETE: 148,
        EventType.FULLY_MOLTEN: 193,
    }
    assert events[EventType.FULLY_MOLTEN].t1_c == 1326
    assert result.summary.cooling_start_s == 321  # the last second at 1500 degC
    flagged = {t: {x.kind for x in f} for t, f in zip(result.times, result.flags, strict=True)}
    assert all(FlagKind.GLINT in flagged[t] for t in (355, 356, 357))
    steps = [t for t, f in flagged.items() if FlagKind.EXPOSURE_STEP in f]
    # Every upward jump after 400 s (the mean had fallen to 54-72 each time) is flagged, nothing before.
    for t in (410, 446, 469, 499, 510, 541, 544, 629):
        assert t in steps
    assert min(steps) >= 400
    assert [h.name for h in result.health if not h.reliable] == ["2#"]
    misreads = [f for f in result.flags if any(x.kind is FlagKind.OUT_OF_RANGE for x in f)]
    assert len(misreads) == 3  # 9518, 8818, 8218: 1# misreads outside 0..1800
    missed = {m.type: m.reason for m in result.missed}
    assert set(missed) == {EventType.CRYSTALLIZATION_START, EventType.CRYSTALLIZATION_END}
    assert "channel means" in missed[EventType.CRYSTALLIZATION_START]


def real_run_from(begin: int, folder: Path) -> AnalysisResult:
    """The real series without the rows before `begin` s: a camera started late."""
    rows = (SHARED_DATA / "frame_channel_means.csv").read_text(encoding="utf-8").splitlines()
    kept = [rows[0], *(r for r in rows[1:] if float(r.split(",")[1]) >= begin)]
    table = folder / "means.csv"
    table.write_text("\n".join(kept) + "\n", encoding="utf-8")
    return analyze_table(
        table, SHARED_DATA / "ocr_temperatures.csv", run="late", plausibility=PlausibilityConfig()
    )


@pytest.mark.parametrize("begin", [125, 135])
def test_the_real_run_recorded_from_within_the_melt(tmp_path, begin: int) -> None:
    """The real series as a camera started 5 or 15 s after the melt began, in its climb: melting_start
    cannot be seen, but the collapse (148 s) and the clearing (193 s, 1326 degC) are found in hindsight,
    where the whole run has them."""
    result = real_run_from(begin, tmp_path)
    events = {e.type: e for e in result.events}
    assert {k: (e.time_s, e.t1_c) for k, e in events.items()} == {
        EventType.MELTING_COMPLETE: (148, 1108),
        EventType.FULLY_MOLTEN: (193, 1326),
    }
    assert "in hindsight" in events[EventType.MELTING_COMPLETE].evidence[0].note
    assert EventType.MELTING_START in {m.type for m in result.missed}


@pytest.mark.parametrize("begin", [145, 160, 175, 185])
def test_the_real_run_recorded_from_the_flash_s_top_or_after_its_collapse_gives_no_heating_event(
    tmp_path, begin: int
) -> None:
    """Begun 3 s before the collapse, or after it: no climb is seen, and a held drop then may be the clearing.
    Searched in hindsight as a collapse, the clearing at 192 s became melting_complete and a drop at 211 s
    (1441 degC) fully_molten, a liquidus 115 degC too high (from 175 s). From 160 s the settling after the
    collapse (0.8 % of the level a frame) passed for the melt's climb: melting_start 177 s, fully_molten
    219 s (1489 degC)."""
    result = real_run_from(begin, tmp_path)
    assert result.events == []
    assert {m.type for m in result.missed} >= {EventType.MELTING_COMPLETE, EventType.FULLY_MOLTEN}
