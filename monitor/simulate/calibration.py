"""How a run's whole-frame mean looks, in numbers: per-stage levels and the camera's signature in its first
difference (exposure steps, glints). Used to calibrate the simulator's camera on the real series.

`python -m monitor.simulate.calibration OUT.png` simulates the default run (seed 0, small frames), compares
it with the real series and writes a plot of both (mean and first difference) plus a table on stdout.
"""

import csv
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np

from monitor.simulate.profile import FurnaceProfile


def default_real_series() -> Path:
    """The real series next to the repository (or next to its folder of git worktrees)."""
    name = Path("shared", "data", "apmcm2022a", "frame_channel_means.csv")
    here = Path(__file__).resolve()
    return next((p / name for p in here.parents if (p / name).is_file()), here.parents[3] / name)


RISE = 8.0  # grey levels: a step or glint moves the mean at least this much ...
WITHIN = 4  # ... within this many frames
RETURN_WITHIN = 6  # an excursion that comes back (to within 40 % of its size) this soon is a glint
SETTLE_WINDOW = 8  # a step has settled when it reaches 90 % of its largest rise within this many frames


@dataclass(frozen=True, slots=True)
class Series:
    """A whole-frame channel-mean series, one value per written second."""

    times: np.ndarray
    bgr: np.ndarray  # (frames, 3)

    @property
    def mean(self) -> np.ndarray:
        return self.bgr.mean(axis=1)


@dataclass(frozen=True, slots=True)
class Step:
    """An exposure step: the mean rose and stayed up."""

    time_s: int  # the last frame before the rise
    fired_at: float  # the mean had fallen to this
    size: float  # grey levels
    settle_frames: int


@dataclass(frozen=True, slots=True)
class StageLevels:
    """Mean of the whole-frame mean over windows set by the furnace programme (flash: the largest value)."""

    start: float  # first 5 s
    flash_peak: float  # largest value while heating
    hold: float  # from 10 s after the peak to the cooling start
    early_cooling: float  # first 80 s of cooling
    late_cooling: float  # from there to 30 s before the end
    end: float  # last 10 s

    def as_dict(self) -> dict[str, float]:
        return {name: getattr(self, name) for name in self.__slots__}


@dataclass(frozen=True, slots=True)
class SeriesStats:
    """What a series looks like: its stage levels and the camera's jumps in it."""

    levels: StageLevels
    steps: list[Step]  # upward exposure steps, all of the run
    glints: list[int]  # times of excursions that return
    cooling_from_s: float  # steps counted "while cooling" are those after this

    def cooling_steps(self) -> list[Step]:
        return [s for s in self.steps if s.time_s >= self.cooling_from_s]


def read_real_series(path: Path | None = None) -> Series:
    with (path or default_real_series()).open(encoding="utf-8") as f:
        rows = list(csv.DictReader(f))
    times = np.array([int(r["Time"]) for r in rows])
    bgr = np.array([[float(r["meanB"]), float(r["meanG"]), float(r["meanR"])] for r in rows])
    return Series(times=times, bgr=bgr)


def read_run_series(folder: Path) -> Series:
    """The whole-frame channel means of a simulated run's written frames (from its truth.csv)."""
    with (folder / "truth.csv").open(encoding="utf-8") as f:
        rows = list(csv.DictReader(f))
    bgr = [cv2.imread(str(folder / r["file"])).reshape(-1, 3).mean(axis=0) for r in rows]
    return Series(times=np.array([int(r["time_s"]) for r in rows]), bgr=np.array(bgr))


def stage_levels(series: Series, profile: FurnaceProfile) -> StageLevels:
    t, m = series.times, series.mean
    cooling = profile.cooling_start_s

    def window(lo: float, hi: float) -> float:
        return float(m[(t >= lo) & (t < hi)].mean())

    return StageLevels(
        start=window(t[0], t[0] + 5),
        flash_peak=float(m[(t >= profile.ramp_start_s) & (t < profile.peak_at_s)].max()),
        hold=window(profile.peak_at_s + 10, cooling),
        early_cooling=window(cooling, cooling + 80),
        late_cooling=window(cooling + 80, t[-1] - 30),
        end=window(t[-1] - 9, t[-1] + 1),
    )


def _jump(mean: np.ndarray, i: int) -> tuple[int, float] | None:
    """(frames, direction) of the first move of >= RISE from frame i within WITHIN frames, if any."""
    ahead = mean[i + 1 : i + 1 + WITHIN] - mean[i]
    moved = np.flatnonzero(np.abs(ahead) >= RISE)
    if moved.size == 0:
        return None
    return int(moved[0]) + 1, float(np.sign(ahead[moved[0]]))


def find_jumps(mean: np.ndarray, times: np.ndarray) -> tuple[list[Step], list[int]]:
    """Upward steps (a rise of >= RISE within WITHIN frames that does not come back) and glints (a rise or
    fall of >= RISE that comes back, to within 40 % of its size, within RETURN_WITHIN frames of its first
    frame). Falls that stay down are neither."""
    steps: list[Step] = []
    glints: list[int] = []
    i, n = 0, len(mean)
    while i < n - 1:
        jump = _jump(mean, i)
        if jump is None:
            i += 1
            continue
        k, sign = jump
        later = _jump(mean, i + 1) if i + 2 < n else None
        if later is not None and later[1] == sign and sign * (mean[i + 1] - mean[i]) < RISE / 4:
            i += 1  # the jump starts a frame later: measure it from the frame just before it
            continue
        base = mean[i]
        after = sign * (mean[i + k : i + k + RETURN_WITHIN + 1] - base)
        peak = int(after.argmax())
        back = np.flatnonzero(after[peak:] < 0.4 * after[peak])
        if back.size:
            glints.append(int(times[i + 1]))
            i += k + peak + int(back[0])
            continue
        if sign > 0:
            rise = mean[i + 1 : i + 1 + SETTLE_WINDOW] - base
            size = float(rise.max())
            settle = int(np.flatnonzero(rise >= 0.9 * size)[0]) + 1
            steps.append(Step(time_s=int(times[i]), fired_at=float(base), size=size, settle_frames=settle))
            i += settle
        else:
            i += k
    return steps, glints


def series_stats(series: Series, profile: FurnaceProfile | None = None) -> SeriesStats:
    """Levels and jump statistics of a series; stages from `profile` (default: the real run's programme)."""
    profile = profile or FurnaceProfile()
    steps, glints = find_jumps(series.mean, series.times)
    return SeriesStats(
        levels=stage_levels(series, profile),
        steps=steps,
        glints=glints,
        cooling_from_s=profile.cooling_start_s,
    )


def comparison_table(real: SeriesStats, sim: SeriesStats) -> str:
    """A markdown table of real vs simulated."""
    rows = [("level " + k, real.levels.as_dict()[k], v) for k, v in sim.levels.as_dict().items()]

    def step_rows(stats: SeriesStats) -> tuple[float, float, float, float]:
        steps = stats.cooling_steps()
        if not steps:
            return 0, float("nan"), float("nan"), float("nan")
        return (
            len(steps),
            float(np.median([s.size for s in steps])),
            float(np.median([s.fired_at for s in steps])),
            float(np.median([s.settle_frames for s in steps])),
        )

    names = (
        "exposure steps while cooling",
        "step size, median",
        "fired at mean, median",
        "settle frames, median",
    )
    rows += list(zip(names, step_rows(real), step_rows(sim), strict=True))
    rows.append(("glints", len(real.glints), len(sim.glints)))
    lines = ["| quantity | real | simulated |", "|---|---:|---:|"]
    lines += [f"| {name} | {a:.1f} | {b:.1f} |" for name, a, b in rows]
    return "\n".join(lines)


def plot(real: Series, sim: Series, out: Path) -> None:
    """Whole-frame mean and its first difference, real vs simulated."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, (top, bottom) = plt.subplots(2, 1, figsize=(11, 6.5), sharex=True)
    for series, label, style in (
        (real, "real (apmcm2022a)", "k-"),
        (sim, "simulated (defaults, seed 0)", "C1-"),
    ):
        top.plot(series.times, series.mean, style, lw=1.2, label=label)
        bottom.plot(series.times[1:], np.diff(series.mean), style, lw=1.0, label=label)
    top.set_ylabel("whole-frame mean")
    top.legend(loc="upper right")
    bottom.set_ylabel("first difference")
    bottom.set_xlabel("run time, s")
    for axis in (top, bottom):
        axis.grid(alpha=0.3)
    fig.tight_layout()
    fig.savefig(out, dpi=110)
    plt.close(fig)


def simulate_default_series(width: int = 512, height: int = 384) -> Series:
    """The default run (seed 0) at a small frame size (the means agree with full size) as a series."""
    from monitor.simulate import SimulationOptions, simulate

    with tempfile.TemporaryDirectory() as tmp:
        run = simulate(Path(tmp), SimulationOptions(width=width, height=height, workers=1), progress=False)
        return read_run_series(run.out)


def main(argv: list[str]) -> int:
    if len(argv) != 1:
        print("usage: python -m monitor.simulate.calibration OUT.png", file=sys.stderr)
        return 2
    real, sim = read_real_series(), simulate_default_series()
    plot(real, sim, Path(argv[0]))
    print(comparison_table(series_stats(real), series_stats(sim)))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
