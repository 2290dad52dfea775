"""evaluate-restarts on a short real run: killed daemons give what one uninterrupted daemon gives."""

import random
from pathlib import Path

from monitor.config import parse_config
from monitor.evaluation.restarts import format_trials, trial
from monitor.pipeline.process import processor_factory
from monitor.simulate import SimulatedRun


def test_kills_with_and_without_a_lost_checkpoint_line_change_nothing(
    heating_run: SimulatedRun, ocr_cache: Path, tmp_path: Path
) -> None:
    processors = processor_factory(parse_config({}, env={}))
    rng = random.Random(3)
    result = trial(heating_run.out, processors, tmp_path, kills=3, rng=rng)
    assert result.passed and len(result.kills) == 3
    assert result.duplicates == sum(result.torn)  # each lost line costs one frame said twice, the same
    assert result.events >= 1  # melting starts in this run: there is something to get wrong
    assert "1/1 runs" in format_trials([result])
