"""Replay how crystallization_end is confirmed, on the growth-end candidates of simulated sweep runs.

`log` scores sweep runs (simulated into DIR if missing, as `furnace-monitor evaluate-analytics` does) with
the confirmation streak switched off, and writes one JSON line per run: every other event's error, and every
frame's verdict of growth_end.find_growth_end with the pixels' share crystallized, how many rose and the
growth trend. `replay` confirms the end on those lines by a streak of K frames in a row (STREAK in
monitor/analytics/growth_end.py), dated at the first, and counts the runs within the sweep's targets per
seed set. A streak of STREAK reproduces `evaluate-analytics`; only the end's confirmation can be replayed.
`--trend risen` judges the growth on the pixels that rose by the plateau alone, `--front F` counts a pixel
crystallized at another share of its rise (both as the log recorded them).

    PYTHONPATH=. .venv/bin/python docs/growth_end_replay.py log DIR 23000 runs.jsonl vga late-start
    PYTHONPATH=. .venv/bin/python docs/growth_end_replay.py log DIR 19000 runs.jsonl aimed-off \
        --scenarios cold-start-jitter
    PYTHONPATH=. .venv/bin/python docs/growth_end_replay.py replay runs.jsonl --streak 1 2 3
    PYTHONPATH=. .venv/bin/python docs/growth_end_replay.py replay runs.jsonl --trend risen --front 0.3

It patches growth_end's module functions for the `log` run (a measuring tool, not the product).
"""

import argparse
import json
from collections import Counter
from collections.abc import Callable
from pathlib import Path
from typing import Any

from monitor.analytics import growth_end
from monitor.config import load_config
from monitor.evaluation import analytics_sweep as sweep
from monitor.evaluation import sweep_cases as cases
from monitor.pipeline.process import FrameProcessor
from monitor.records import read_events

ENDED = "ended"


def patched_search(candidates: list[list[Any]]) -> Callable[..., growth_end.GrowthEnd | str]:
    """growth_end.find_growth_end that appends [candidate index, verdict, share, risen, trend, alternatives]
    per call; the alternatives (alternatives()) are what the pixels would have given by other rules."""
    judged: dict[int, tuple[growth_end.PixelJudgement, dict[str, Any]] | None] = {}
    crystallized = growth_end.SamplePixels.crystallized
    find = growth_end.find_growth_end

    def spy_pixels(
        self: growth_end.SamplePixels, start: int, melt_from: int, i: int, n: int
    ) -> growth_end.PixelJudgement | None:
        found = crystallized(self, start, melt_from, i, n)
        judged[i] = None if found is None else (found, alternatives(self, i, n))
        return found

    def spy(x: list[float], start: int, melt_from: int, pixels: Any = None, **kw: Any) -> Any:
        i = len(x) - growth_end.PLATEAU
        judged.pop(i, None)
        found = find(x, start, melt_from, pixels, **kw)
        verdict = found if isinstance(found, str) else ENDED
        pixel = judged.get(i)
        if pixel is None:
            candidates.append([i, verdict, None, None, None, None])
        else:
            j, alternative = pixel
            candidates.append([i, verdict, j.share, j.risen, j.trend, alternative])
        return found

    growth_end.SamplePixels.crystallized = spy_pixels  # type: ignore[method-assign]
    return spy


ALTERNATIVE_FRONTS = (0.25, 0.3, 0.4, 0.5)


def alternatives(pixels: growth_end.SamplePixels, i: int, n: int) -> dict[str, Any]:
    """Candidate i's growth trend over the risen pixels alone, and its share crossed at other fronts."""
    plateau = pixels.plateau(i, n)
    return {
        "risen_trend": growth_end.flat_trend(plateau.capped()[:, plateau.risen].mean(axis=1)),
        "fronts": {str(f): pixels.crossed(plateau, f) for f in ALTERNATIVE_FRONTS},
    }


def reverdict(candidate: list[Any], trend: str, front: float) -> str:
    """A pixel-judged candidate's verdict with its growth trend over `trend` ("all" the sample's pixels, as
    growth_end does, or the "risen" ones) and its share crossed at `front`; others keep theirs."""
    verdict, share, growth, alternative = candidate[1], candidate[2], candidate[4], candidate[5]
    if alternative is None or (trend == "all" and front == growth_end.FRONT):
        return str(verdict)
    if front != growth_end.FRONT:
        share = alternative["fronts"][str(front)]
    if trend == "risen":
        growth = alternative["risen_trend"]
    flat = -growth_end._FLAT_FALL <= growth <= growth_end._FLAT_RISE
    return ENDED if flat and share >= growth_end.SHARE else growth_end.STILL_GROWING


def log(folder: Path, offset: int, out: Path, variants: list[str], programmes: list[str] | None) -> None:
    candidates: list[list[Any]] = []
    growth_end.find_growth_end = patched_search(candidates)
    growth_end.STREAK = 10**9  # never confirmed: every candidate to the recording's end is judged
    build, firsts = sweep.processor_builder(load_config(None)), []

    def marked(liquidus_c: float | None) -> FrameProcessor:
        firsts.append(len(candidates))  # run_sweep builds each run's pipeline just before scoring it
        return build(liquidus_c)

    known = {v.name: v for v in (*cases.VARIANTS, *cases.PROBES)}
    chosen = [s for s in cases.SCENARIOS if not programmes or s.name in programmes]
    scored = sweep.run_sweep(
        folder, marked, variants=[known[name] for name in variants], scenarios=cases.reseeded(chosen, offset)
    )
    with out.open("a", encoding="utf-8") as f:
        for run, first, last in zip(scored, firsts, [*firsts[1:], len(candidates)], strict=True):
            truth = read_events(folder / run.variant / run.scenario.name / "events.json")
            record = {
                "variant": run.variant,
                "scenario": run.scenario.name,
                "errors": {k.value: e for k, e in run.errors.items()},
                "false": run.false_events,
                "unreliable": run.unreliable,
                "truth": {e.type.value: e.time_s for e in truth},
                "candidates": [[run.result.times[c[0]], *c[1:]] for c in candidates[first:last]],
            }
            f.write(json.dumps(record) + "\n")


def confirmed(candidates: list[list[Any]], streak: int) -> float | None:
    """The time of the first of `streak` candidates in a row judged ended."""
    run = 0
    for k, candidate in enumerate(candidates):
        run = run + 1 if candidate[1] == ENDED else 0
        if run == streak:
            return float(candidates[k - streak + 1][0])
    return None


def within(record: dict[str, Any], end: float | None) -> bool:
    errors = {**record["errors"], "crystallization_end": None}
    if end is not None:
        errors["crystallization_end"] = end - record["truth"]["crystallization_end"]
    timed = all(e is not None and abs(e) <= sweep.TOLERANCE_S.get(k, float("inf")) for k, e in errors.items())
    return timed and not record["false"] and record["unreliable"] == ["2#"]


def seed_set(scenario: str) -> str:
    """A reseeded scenario's set of five seeds: "hot-fast-cooling-seed23001" -> "2300x"."""
    return scenario.rsplit("seed", 1)[1][:-1] + "x"


def replay(
    files: list[Path], streaks: list[int], trend: str = "all", front: float = growth_end.FRONT
) -> None:
    records = [json.loads(line) for f in files for line in f.read_text(encoding="utf-8").splitlines()]
    sets = sorted({seed_set(r["scenario"]) for r in records})
    for streak in streaks:
        passed, runs = Counter[str](), Counter[str]()
        for r in records:
            seeds = seed_set(r["scenario"])
            runs[seeds] += 1
            judged = [[c[0], reverdict(c, trend, front)] for c in r["candidates"]]
            passed[seeds] += within(r, confirmed(judged, streak))
        per_set = ", ".join(f"seeds {s}: {passed[s]}/{runs[s]}" for s in sets)
        rule = f"streak {streak}, trend {trend}, front {front:g}"
        print(f"{rule}: {per_set}; all {sum(passed.values())}/{len(records)}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    sub = parser.add_subparsers(dest="command", required=True)
    logging = sub.add_parser("log")
    logging.add_argument("folder", type=Path)
    logging.add_argument("offset", type=int)
    logging.add_argument("out", type=Path)
    logging.add_argument("variants", nargs="+")
    logging.add_argument("--scenarios", nargs="+", help="programmes (default: the sweep's five)")
    replaying = sub.add_parser("replay")
    replaying.add_argument("files", type=Path, nargs="+")
    replaying.add_argument("--streak", type=int, nargs="+", default=[growth_end.STREAK])
    replaying.add_argument("--trend", choices=("all", "risen"), default="all", help="pixels the growth is on")
    replaying.add_argument(
        "--front", type=float, choices=(growth_end.FRONT, *ALTERNATIVE_FRONTS), default=growth_end.FRONT
    )
    args = parser.parse_args()
    if args.command == "log":
        log(args.folder, args.offset, args.out, args.variants, args.scenarios)
    else:
        replay(args.files, args.streak, args.trend, args.front)


if __name__ == "__main__":  # the simulator's worker processes import this file again
    main()
