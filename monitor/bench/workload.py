"""The frames every part of the bench runs on: one synthetic run, its first frames for warming up."""

import shutil
from dataclasses import dataclass
from pathlib import Path

from monitor.ingest.loader import list_frames
from monitor.simulate import SimulationOptions, simulate


@dataclass(frozen=True, slots=True)
class Workload:
    """`warmup` frames, then the `measured` ones: consecutive seconds of one run (1024x768 JPEG)."""

    folder: Path
    warmup: tuple[Path, ...]
    measured: tuple[Path, ...]
    start_s: int
    seed: int

    @property
    def all(self) -> list[Path]:
        return [*self.warmup, *self.measured]


def make_workload(folder: Path, *, frames: int, warmup: int, start_s: int, seed: int) -> Workload:
    """Simulate the run into a fresh `folder`; the warm-up frames are its first seconds, as in a real run."""
    if frames < 1 or warmup < 0:
        raise ValueError(f"need frames >= 1 and warmup >= 0, got {frames} and {warmup}")
    if folder.exists():
        shutil.rmtree(folder)
    simulate(
        folder,
        SimulationOptions(seconds=warmup + frames, start=start_s, seed=seed, workers=1),
        progress=False,
    )
    paths = list_frames(folder)
    return Workload(folder=folder, warmup=tuple(paths[:warmup]), measured=tuple(paths[warmup:]),
                    start_s=start_s, seed=seed)  # fmt: skip
