"""Replay how crystallization_end is confirmed, on the growth-end candidates of simulated sweep runs.

`log` scores sweep runs (simulated into DIR if missing, as `furnace-monitor evaluate-analytics` does) with
the confirmation streak switched off, and writes one JSON line per run: every other event's error, and every
frame's verdict of growth_end.find_growth_end with the pixels' share crystallized, how many rose and the
growth trend. `replay` confirms the end on those lines by a streak of K frames in a row (STREAK in
monitor/analytics/growth_end.py), dated at the first, and counts the runs within the sweep's targets per
seed set. A streak of STREAK reproduces `evaluate-analytics`; only the end's confirmation can be replayed.

    PYTHONPATH=. .venv/bin/python docs/growth_end_replay.py log DIR 23000 runs.jsonl vga late-start
    PYTHONPATH=. .venv/bin/python docs/growth_end_replay.py log DIR 19000 runs.jsonl aimed-off \
        --scenarios cold-start-jitter
    PYTHONPATH=. .venv/bin/python docs/growth_end_replay.py replay runs.jsonl --streak 1 2 3

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
from monitor.evaluation import sweep_cases as cases
from monitor.evaluation.analytics_sweep import TOLERANCE_S, _complete, score_run
from monitor.pipeline.process import build_processor
from monitor.simulate import simulate

ENDED = "ended"


def patched_search(candidates: list[list[Any]]) -> Callable[..., growth_end.GrowthEnd | str]:
    """growth_end.find_growth_end that appends [candidate index, verdict, share, risen, trend] per call."""
    judged: dict[int, growth_end.PixelJudgement | None] = {}
    crystallized = growth_end.SamplePixels.crystallized
    find = growth_end.find_growth_end

    def spy_pixels(
        self: growth_end.SamplePixels, start: int, melt_from: int, i: int, n: int
    ) -> growth_end.PixelJudgement | None:
        judged[i] = crystallized(self, start, melt_from, i, n)
        return judged[i]

    def spy(x: list[float], start: int, melt_from: int, pixels: Any = None, **kw: Any) -> Any:
        i = len(x) - growth_end.PLATEAU
        judged.pop(i, None)
        found = find(x, start, melt_from, pixels, **kw)
        j = judged.get(i)
        verdict = found if isinstance(found, str) else ENDED
        candidates.append([i, verdict, *((j.share, j.risen, j.trend) if j else (None, None, None))])
        return found

    growth_end.SamplePixels.crystallized = spy_pixels  # type: ignore[method-assign]
    return spy


def log(folder: Path, offset: int, out: Path, variants: list[str], programmes: list[str] | None) -> None:
    candidates: list[list[Any]] = []
    growth_end.find_growth_end = patched_search(candidates)
    growth_end.STREAK = 10**9  # never confirmed: every candidate to the recording's end is judged
    config = load_config(None)
    known = {v.name: v for v in (*cases.VARIANTS, *cases.PROBES)}
    with out.open("a", encoding="utf-8") as f:
        for variant in (known[name] for name in variants):
            chosen = [s for s in cases.SCENARIOS if not programmes or s.name in programmes]
            for s in cases.reseeded(chosen, offset):
                run = folder / variant.name / s.name
                if not _complete(run):
                    simulate(run, variant.options(cases.scenario_options(s)), progress=False)
                liquidus = s.profile.fully_molten_c if variant.liquidus_configured else None
                analytics = config.analytics.model_copy(
                    update={"liquidus_c": liquidus or config.analytics.liquidus_c}
                )
                processor = build_processor(config.model_copy(update={"analytics": analytics}))
                candidates.clear()
                scored = score_run(run, processor, variant=variant.name, scenario=s)
                times = scored.result.times
                truth = json.loads((run / "events.json").read_text(encoding="utf-8"))["events"]
                record = {
                    "variant": variant.name,
                    "scenario": s.name,
                    "errors": {k.value: e for k, e in scored.errors.items()},
                    "false": scored.false_events,
                    "unreliable": scored.unreliable,
                    "truth": {e["type"]: e["time_s"] for e in truth},
                    "candidates": [[times[c[0]], *c[1:]] for c in candidates],
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
    timed = all(e is not None and abs(e) <= TOLERANCE_S.get(k, float("inf")) for k, e in errors.items())
    return timed and not record["false"] and record["unreliable"] == ["2#"]


def replay(files: list[Path], streaks: list[int]) -> None:
    records = [json.loads(line) for f in files for line in f.read_text(encoding="utf-8").splitlines()]
    sets = sorted({r["scenario"].rsplit("seed", 1)[1][:-1] + "x" for r in records})
    for streak in streaks:
        passed, runs = Counter[str](), Counter[str]()
        for r in records:
            seeds = r["scenario"].rsplit("seed", 1)[1][:-1] + "x"
            runs[seeds] += 1
            passed[seeds] += within(r, confirmed(r["candidates"], streak))
        per_set = ", ".join(f"seeds {s}: {passed[s]}/{runs[s]}" for s in sets)
        print(f"streak {streak}: {per_set}; all {sum(passed.values())}/{len(records)}")


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
    args = parser.parse_args()
    if args.command == "log":
        log(args.folder, args.offset, args.out, args.variants, args.scenarios)
    else:
        replay(args.files, args.streak)


if __name__ == "__main__":  # the simulator's worker processes import this file again
    main()
