"""Held-out frames come in time blocks, with a gap where the side changes; never single random frames."""

import numpy as np
import pytest

from monitor.nets.labels import LabelledRun
from monitor.nets.split import BlockSplit, split_runs
from monitor.records import Stage


def _run(name: str, times: np.ndarray, decoded: np.ndarray | None = None) -> LabelledRun:
    n = len(times)
    return LabelledRun(
        name=name, folder=__import__("pathlib").Path(name), files=tuple(f"{int(t):04d}.jpg" for t in times),
        times=times, t1_c=np.zeros(n), progress_pct=np.zeros(n), stages=(Stage.HEATING,) * n,
        decoded=np.ones(n, bool) if decoded is None else decoded,
    )  # fmt: skip


def test_blocks_alternate_with_gaps_only_where_the_side_changes() -> None:
    times = np.arange(110, 672, dtype=float)
    train, held = BlockSplit(block_s=60, holdout_every=4, gap_s=5, offset=3).masks(times)
    assert not (train & held).any()
    rel = times - 110
    # blocks 3 and 7 (180..240 s, 420..480 s after the start) are held out, minus 5 s at each border
    assert set(rel[held]) == set(range(185, 235)) | set(range(425, 475))
    unused = rel[~train & ~held]
    assert set(unused) == {*range(175, 185), *range(235, 245), *range(415, 425), *range(475, 485)}
    assert 0 in rel[train] and 60 in rel[train]  # no gap between two training blocks


def test_held_out_frames_form_contiguous_blocks() -> None:
    times = np.arange(0, 600, dtype=float)
    _, held = BlockSplit().masks(times)
    runs = np.diff(np.flatnonzero(held))
    assert (runs == 1).sum() >= held.sum() - 3  # a few block starts, never scattered frames


def test_split_by_run_uses_whole_runs_and_skips_undecodable_frames() -> None:
    decoded = np.ones(100, bool)
    decoded[5] = False
    a, b = _run("a", np.arange(100.0), decoded), _run("b", np.arange(50.0))
    parts, split = split_runs([a], [b], BlockSplit())
    assert split.method == "by_run" and split.heldout_runs == ("b",)
    assert (split.train_frames, split.heldout_frames) == (99, 50)
    assert 5 not in parts[0].train and parts[0].heldout.size == 0 and parts[1].train.size == 0


def test_split_by_blocks_is_recorded() -> None:
    parts, split = split_runs([_run("a", np.arange(110.0, 672.0))], [], BlockSplit(block_s=60))
    assert split.method == "time_blocks" and split.block_s == 60
    assert split.train_frames == parts[0].train.size and split.heldout_frames == parts[0].heldout.size > 0


@pytest.mark.parametrize("times", [np.array([]), np.array([5.0])])
def test_degenerate_runs(times: np.ndarray) -> None:
    train, held = BlockSplit().masks(times)
    assert train.shape == held.shape == times.shape
