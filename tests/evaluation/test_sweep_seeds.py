"""The sweep on seeds and cameras it was never tuned on: other runs of the same programmes, and probe
cameras, kept apart."""

from monitor.evaluation.analytics_sweep import PROBES, SCENARIOS, VARIANTS, reseeded, scenario_options


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
    """Each probe camera is a camera of its own (not one of the sweep's under another name), so a probe run
    is one the detectors were not tuned on."""
    assert not {p.name for p in PROBES} & {v.name for v in VARIANTS}
    base = scenario_options(SCENARIOS[0])
    sweep_cameras = [v.options(base).camera for v in VARIANTS]
    for probe in PROBES:
        assert probe.options(base).camera not in sweep_cameras, probe.name
