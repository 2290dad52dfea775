"""docs/growth_end_replay.py, the measuring tool behind crystallization_end's confirmation rules: a logged
candidate is judged again by the rule asked for, and an end is confirmed as GrowthEndSearch confirms it."""

import importlib.util
import json
from pathlib import Path
from types import ModuleType

import pytest

from monitor.analytics import growth_end

TOOL = Path(__file__).resolve().parents[2] / "docs" / "growth_end_replay.py"
STILL = "the texture of the sample is still growing"


@pytest.fixture(scope="module")
def tool() -> ModuleType:
    spec = importlib.util.spec_from_file_location("growth_end_replay", TOOL)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def candidate(
    time_s: float, verdict: str, share: float, trend: float, risen_trend: float, front_03: float = 0.0
) -> list:
    """A logged candidate: [time, verdict, share, pixels risen, trend, alternatives] (the tool's format)."""
    fronts = {"0.25": 0.0, "0.3": front_03, "0.4": 0.0, "0.5": 0.0}
    return [time_s, verdict, share, 5000, trend, {"risen_trend": risen_trend, "fronts": fronts}]


def test_the_product_rule_keeps_the_logged_verdict(tool: ModuleType) -> None:
    # Logged as still growing (the trend 0.004 is not flat); replayed as growth_end judges, it stays so.
    still = candidate(300.0, STILL, 0.995, 0.004, 0.001)
    assert tool.reverdict(still, "all", growth_end.FRONT) == STILL
    # A candidate judged on the texture's level has no pixel alternatives: every rule keeps its verdict.
    level = [300.0, tool.ENDED, None, None, None, None]
    assert tool.reverdict(level, "risen", 0.3) == tool.ENDED


def test_another_rule_judges_the_pixels_again(tool: ModuleType) -> None:
    # Over the risen pixels alone the sample is flat (0.001 a frame) and 99.5 % crossed: ended.
    assert (
        tool.reverdict(candidate(300.0, STILL, 0.995, 0.004, 0.001), "risen", growth_end.FRONT) == tool.ENDED
    )
    # At a front of 0.3 the share crossed is 0.992 where 0.35 gave 0.98.
    lagging = candidate(300.0, STILL, 0.98, 0.001, 0.001, front_03=0.992)
    assert tool.reverdict(lagging, "all", 0.3) == tool.ENDED
    assert tool.reverdict(lagging, "all", 0.4) == STILL
    # A falling plateau is flat down to twice the rise allowed; beyond it, not.
    assert (
        tool.reverdict(candidate(300.0, STILL, 0.995, 0.0, -0.004), "risen", growth_end.FRONT) == tool.ENDED
    )
    assert tool.reverdict(candidate(300.0, STILL, 0.995, 0.0, -0.006), "risen", growth_end.FRONT) == STILL


def test_an_end_is_confirmed_by_a_streak_and_dated_at_its_first_frame(tool: ModuleType) -> None:
    verdicts = [STILL, tool.ENDED, tool.ENDED, STILL, tool.ENDED, tool.ENDED, tool.ENDED, tool.ENDED]
    judged = [[300.0 + k, v] for k, v in enumerate(verdicts)]
    assert tool.confirmed(judged, 1) == 301.0
    assert tool.confirmed(judged, 3) == 304.0
    assert tool.confirmed(judged, 5) is None


def test_replay_counts_the_runs_within_the_targets_per_seed_set(
    tool: ModuleType, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    def run(scenario: str, end_s: float) -> dict:
        # The whole sample is flat from end_s on, so growth_end judged it ended from there; the risen pixels
        # are flat from 300 s on.
        flat = [t >= end_s for t in range(300, 320)]
        cands = [
            candidate(t, tool.ENDED if ok else STILL, 0.995, 0.001 if ok else 0.004, 0.001)
            for t, ok in zip(range(300, 320), flat, strict=True)
        ]
        return {
            "variant": "fixed-exposure",
            "scenario": scenario,
            "errors": {"crystallization_start": 0.0},
            "false": [],
            "unreliable": ["2#"],
            "truth": {"crystallization_end": 300.0},
            "candidates": cands,
        }

    log = tmp_path / "runs.jsonl"
    runs = (run("reference-seed19000", 302.0), run("reference-seed24000", 310.0))
    log.write_text("\n".join(json.dumps(r) for r in runs))
    tool.replay([log], [3])
    # The 19000 run ends 2 s late (within 5 s); the 24000 one 10 s late.
    assert "seeds 1900x: 1/1, seeds 2400x: 0/1; all 1/2" in capsys.readouterr().out
    tool.replay([log], [3], trend="risen")
    assert "all 2/2" in capsys.readouterr().out
