"""The sweep on seeds and cameras it was never tuned on: other runs of the same programmes, and probe
cameras, kept apart."""

import math

import pytest

from monitor.evaluation.analytics_sweep import gain_off
from monitor.evaluation.sweep_cases import (
    PROBE_SCENARIOS,
    PROBES,
    SCENARIOS,
    VARIANTS,
    reseeded,
    scenario_options,
    true_time,
)
from monitor.records import EventType


def test_an_offset_gives_other_runs_of_the_same_programmes_under_their_own_names() -> None:
    again = reseeded(SCENARIOS, 1000)
    assert [s.seed for s in again] == [s.seed + 1000 for s in SCENARIOS]
    assert [s.profile for s in again] == [s.profile for s in SCENARIOS]
    # The name carries the seed, so a working folder never reuses a run drawn with another seed.
    assert [s.name for s in again] == [f"{s.name}-seed{s.seed + 1000}" for s in SCENARIOS]
    # Another seed draws other kinetics, hence another run length (the run ends 25 s after the true end).
    lengths = [scenario_options(s).seconds for s in SCENARIOS]
    assert [scenario_options(s).seconds for s in again] != lengths
    assert reseeded(SCENARIOS, 0) == list(SCENARIOS)


def test_the_probe_cameras_are_others_than_the_sweep_s() -> None:
    """Each probe camera is a camera of its own (not one of the sweep's under another name: its lens,
    sensor noise or frame differ), so a probe run is one the detectors were not tuned on."""
    assert not {p.name for p in PROBES} & {v.name for v in VARIANTS}
    assert len({p.name for p in PROBES}) == len(PROBES)
    base = scenario_options(SCENARIOS[0])
    sweep_runs = [v.options(base) for v in VARIANTS]
    for probe in PROBES:
        assert probe.options(base) not in sweep_runs, probe.name


def test_the_help_names_every_probe_camera_and_programme() -> None:
    """The help of `evaluate-analytics --variants` and `--scenarios` names the probes by hand (building the
    parser does not import the simulator): it must name each one."""
    from monitor.cli import build_parser

    sub = next(a for a in build_parser()._actions if a.dest == "command")
    options = {a.dest: " ".join((a.help or "").split()) for a in sub.choices["evaluate-analytics"]._actions}
    assert all(p.name in options["variants"] for p in PROBES)
    assert all(s.name in options["scenarios"] for s in PROBE_SCENARIOS)


def test_the_probe_programmes_are_others_than_the_sweep_s_and_keep_their_seeds() -> None:
    """Each probe programme has its own profile and seed (seeds no offset of the sweep's reaches), and
    reseeding the sweep leaves them as they are: a probe run is the same run whatever the offset."""
    assert not {s.name for s in PROBE_SCENARIOS} & {s.name for s in SCENARIOS}
    assert not {s.profile for s in PROBE_SCENARIOS} & {s.profile for s in SCENARIOS}
    assert len({s.seed for s in PROBE_SCENARIOS}) == len(PROBE_SCENARIOS)
    assert reseeded([*SCENARIOS, *PROBE_SCENARIOS], 1000)[len(SCENARIOS) :] == list(PROBE_SCENARIOS)
    for s in PROBE_SCENARIOS:  # every event happens, in order, within the simulated run
        times = [true_time(s.profile, s.seed, k) for k in EventType]
        options = scenario_options(s)
        assert times == sorted(times)
        assert options.start < times[0] and times[-1] < options.start + options.seconds


@pytest.mark.parametrize(
    ("name", "kind", "after", "liquidus"),
    [("late-start", EventType.FULLY_MOLTEN, 40, True), ("mid-melt-start", EventType.MELTING_START, 8, False)],
)
def test_a_late_start_probe_begins_after_its_event_and_ends_where_the_run_does(
    name: str, kind: EventType, after: int, liquidus: bool
) -> None:
    """A camera started 40 s after the sample was fully molten, or 8 s into the melt: the same run, cut at
    its start. Only a run that cannot show fully_molten is given the flux's liquidus."""
    base = scenario_options(SCENARIOS[0])
    probe = next(p for p in PROBES if p.name == name)
    late = probe.options(base)
    assert late.start == int(true_time(base.profile, base.seed, kind)) + after
    assert late.start + late.seconds == base.start + base.seconds
    assert late.model_copy(update={"start": base.start, "seconds": base.seconds}) == base
    assert probe.liquidus_configured is liquidus


def test_the_gain_off_is_the_share_of_frames_whose_live_gain_strays_from_the_simulator_s(tmp_path) -> None:
    """Relative to the first frame (a camera's gain option scales every frame alike), glints left out."""
    rows = [
        ("0110.jpg", 2.0, 0),
        ("0111.jpg", 2.0, 0),
        ("0112.jpg", 2.0, 1),
        ("0113.jpg", 2.5, 0),
        ("0114.jpg", 2.5, 0),
    ]
    lines = ["time_s,file,gain,glint"] + [f"{110 + i},{f},{g},{gl}" for i, (f, g, gl) in enumerate(rows)]
    (tmp_path / "truth.csv").write_text("\n".join(lines) + "\n", encoding="utf-8")
    files = [f for f, _, _ in rows]
    # Tracked right (a 1.25x step at 0113), the glint at 0112 divided out or not: nothing off.
    assert gain_off(tmp_path, files, [1.0, 1.0, 1.3, 1.25, 1.27]) == 0.0
    # The step missed: 1 of the 3 frames with a gain that are no glint is off (0114 was not decoded).
    assert gain_off(tmp_path, files, [1.0, 1.0, 1.0, 1.0, None]) == pytest.approx(1 / 3)
    assert math.isnan(gain_off(tmp_path, files, [None] * 5))
