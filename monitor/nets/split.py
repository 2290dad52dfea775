"""Held-out frames by time blocks or by run, never random frames: neighbouring frames are near copies,
so a random split would score the model on frames it has practically seen."""

from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

from monitor.nets.manifest import Split

if TYPE_CHECKING:
    from monitor.nets.labels import LabelledRun


@dataclass(frozen=True, slots=True)
class BlockSplit:
    """Every `holdout_every`-th block of `block_s` seconds is held out; frames within `gap_s` of a border
    between a training and a held-out block are used by neither side."""

    block_s: float = 60.0
    holdout_every: int = 4
    gap_s: float = 5.0
    offset: int = 3  # which block of each group is held out (0-based)

    def masks(self, times: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """(train, heldout) boolean masks over one run's frame times."""
        times = np.asarray(times, dtype=float)
        if times.size == 0:
            return np.zeros(0, bool), np.zeros(0, bool)
        rel = times - times.min()
        block = np.floor(rel / self.block_s).astype(int)
        heldout = (block % self.holdout_every) == (self.offset % self.holdout_every)
        into = rel - block * self.block_s
        near_border = (into < self.gap_s) | (into >= self.block_s - self.gap_s)
        # a border only needs a gap where the side changes
        prev_side = ((block - 1) % self.holdout_every) == (self.offset % self.holdout_every)
        next_side = ((block + 1) % self.holdout_every) == (self.offset % self.holdout_every)
        prev_side = np.where(block == 0, heldout, prev_side)  # the run's ends are no side change
        next_side = np.where(block == block.max(), heldout, next_side)
        changes = np.where(into < self.block_s / 2, prev_side != heldout, next_side != heldout)
        excluded = near_border & changes
        return ~heldout & ~excluded, heldout & ~excluded


@dataclass(frozen=True, slots=True)
class RunSplit:
    """One run's frames on each side (indices into the run's arrays)."""

    run: "LabelledRun"
    train: np.ndarray
    heldout: np.ndarray


def split_runs(
    runs: "list[LabelledRun]", heldout_runs: "list[LabelledRun]", blocks: BlockSplit
) -> tuple[list[RunSplit], Split]:
    """Held-out runs when given (split by run), else time blocks within every run; only decodable frames."""
    parts: list[RunSplit] = []
    if heldout_runs:
        for run in runs:
            parts.append(RunSplit(run, np.flatnonzero(run.decoded), np.zeros(0, dtype=int)))
        for run in heldout_runs:
            parts.append(RunSplit(run, np.zeros(0, dtype=int), np.flatnonzero(run.decoded)))
        manifest_split = Split(
            method="by_run",
            heldout_runs=tuple(r.name for r in heldout_runs),
            train_frames=sum(p.train.size for p in parts),
            heldout_frames=sum(p.heldout.size for p in parts),
        )
        return parts, manifest_split
    for run in runs:
        train, heldout = blocks.masks(run.times)
        parts.append(
            RunSplit(run, np.flatnonzero(train & run.decoded), np.flatnonzero(heldout & run.decoded))
        )
    manifest_split = Split(
        method="time_blocks",
        block_s=blocks.block_s,
        holdout_every=blocks.holdout_every,
        gap_s=blocks.gap_s,
        train_frames=sum(p.train.size for p in parts),
        heldout_frames=sum(p.heldout.size for p in parts),
    )
    return parts, manifest_split
