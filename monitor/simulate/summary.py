"""A short text account of a simulated run: where it is, its stages and its events."""

from pathlib import Path

from monitor.simulate.run import SimulatedRun


def describe_run(run: SimulatedRun) -> str:
    frames = run.frames
    size_mb = sum((run.out / f.file).stat().st_size for f in frames) / 1e6
    lines = [
        f"run folder   {run.out.resolve()}",
        f"frames       {len(frames)}"
        + (
            f" ({frames[0].file} .. {frames[-1].file}), {size_mb:.1f} MB"
            if frames
            else " (every second dropped)"
        ),
        f"truth        {Path(run.out / 'truth.csv').resolve()}",
        f"events       {Path(run.out / 'events.json').resolve()}",
        "",
        "stage          from     to   frames   1# range (degC)",
    ]
    by_stage: dict = {}  # stage -> its written frames, in order of first appearance
    for frame in frames:
        by_stage.setdefault(run.timeline.stage[frame.index], []).append(frame)
    for stage, group in by_stage.items():
        t1 = [f.t1_c for f in group]
        lines.append(
            f"{stage!s:<13} {group[0].time_s:>5} {group[-1].time_s:>6} {len(group):>8}"
            f"   {min(t1)} .. {max(t1)}"
        )
    lines += ["", "event                    time_s   file       1# (degC)"]
    lines += [f"{e.type!s:<24} {e.time_s:>6.0f}   {e.file}   {e.t1_c}" for e in run.events]
    k = run.timeline.kinetics
    lines += ["", f"crystallization law      X = 1 - exp(-k t^n), n = {k.n:.2f}, k = {k.k:.3g}"]
    return "\n".join(lines)
