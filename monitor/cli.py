"""The `furnace-monitor` command line. Its help texts (DESCRIPTION, each command's) are the user's manual;
each cmd_* function calls the library and maps expected failures to exit 2 with one line."""

import argparse
import logging
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from monitor import __version__
from monitor.config import ConfigError, StartupError, load_config
from monitor.ingest.loader import NoFramesError, usable_frames
from monitor.logs import setup_logging
from monitor.overlay.models import ModelError
from monitor.summary import describe_analysis

log = logging.getLogger("furnace-monitor")


def _simulation_options(args: argparse.Namespace):  # -> SimulationOptions
    from monitor.simulate import SimulationOptions

    profile = {
        key: value
        for key, value in {
            "start_c": args.start_c,
            "peak_c": args.peak_c,
            "peak_at_s": args.peak_at_s,
            "hold_s": args.hold_s,
            "cool_rate_c_per_s": args.cool_rate,
            "crystallization_c": args.crystallization_c,
        }.items()
        if value is not None
    }
    overrides = {
        key: value
        for key, value in {
            "seconds": args.seconds,
            "start": args.start,
            "seed": args.seed,
            "jpeg_quality": args.quality,
            "noise_sigma": args.noise,
            "width": args.width,
            "height": args.height,
            "realtime": args.realtime or None,
            "fps": args.fps,
            "slow_writes": args.slow_writes or None,
            "workers": args.workers,
        }.items()
        if value is not None
    }
    base = SimulationOptions.from_yaml(args.options) if args.options else SimulationOptions()
    data = base.model_dump()
    data.update(overrides)
    data["profile"] = {**data["profile"], **profile}
    if args.exposure is not None:
        data["camera"] = {**data["camera"], "exposure": args.exposure}
    return SimulationOptions.model_validate(data)


def cmd_simulate(args: argparse.Namespace) -> int:
    from monitor.simulate import simulate
    from monitor.simulate.summary import describe_run

    options = _simulation_options(args)
    started = time.perf_counter()
    run = simulate(args.out, options, progress=not args.quiet)
    elapsed = time.perf_counter() - started
    print(describe_run(run))
    print(f"\nwritten in {elapsed:.1f} s ({len(run.frames) / elapsed:.0f} frames/s)")
    return 0


def cmd_check_config(args: argparse.Namespace) -> int:
    from monitor.service.preflight import environment_checks

    try:
        config = load_config(args.config)
    except ConfigError as exc:
        print(f"{exc.source}: {len(exc.errors)} error(s)", file=sys.stderr)
        for error in exc.errors:
            print(f"  {error}", file=sys.stderr)
        return 2
    print(f"OK   config: {args.config} is valid")
    if args.syntax_only:
        return 0
    checks = environment_checks(config)
    for check in checks:
        print(check.line())
    return 2 if any(not c.ok and c.essential for c in checks) else 0


def cmd_doctor(args: argparse.Namespace) -> int:
    from monitor.service.doctor import run_doctor
    from monitor.simulate.overlay import default_font

    config = load_config(args.config)
    print(f"OK   config: {args.config or 'built-in defaults'} is valid")
    checks = run_doctor(config, find_font=default_font)
    for check in checks:
        print(check.line())
    failed = [c for c in checks if not c.ok and c.essential]
    warned = [c for c in checks if not c.ok and not c.essential]
    print(f"\n{len(checks) + 1} checks: {len(failed)} failed, {len(warned)} warnings")
    return 2 if failed else 0


def _reader_config(args: argparse.Namespace):  # -> MonitorConfig
    config = load_config(args.config)
    if args.engine:
        config.ocr.engine = args.engine
    return config


def cmd_digitize(args: argparse.Namespace) -> int:
    from monitor.overlay.digitize import digitize
    from monitor.overlay.factory import build_reader
    from monitor.overlay.table import write_table

    config = _reader_config(args)
    paths = usable_frames(args.frames, size=_frame_size(config))
    reader = build_reader(config.overlay, config.ocr)
    started = time.perf_counter()
    rows = digitize(paths, reader, size=_frame_size(config), progress=not args.quiet)
    elapsed = time.perf_counter() - started
    write_table(args.output, rows)
    flagged = sum(1 for r in rows if r.flags)
    print(
        f"{len(rows)} frames -> {args.output} in {elapsed:.1f} s ({len(rows) / elapsed:.1f} frames/s); "
        f"{flagged} rows flagged"
    )
    counts = reader.counts
    print(
        f"overlay layout found {reader.layout_detections} time(s) (1 = once for the run); doubtful fields "
        f"re-read: {counts.second_engine} by the second model, {counts.binarised} binarised"
    )
    if args.plot:
        from monitor.report.plots import plot_temperatures

        plot_temperatures(
            [r.value("time") for r in rows],
            [r.value("t1") for r in rows],
            [r.value("t2") for r in rows],
            args.plot,
        )
        print(f"plot -> {args.plot}")
    return 0


def cmd_evaluate_ocr(args: argparse.Namespace) -> int:
    import json

    from monitor.evaluation.naive_ocr import build_naive_reader
    from monitor.evaluation.ocr import evaluate_run, format_score
    from monitor.overlay.factory import build_reader

    config = _reader_config(args)
    builders: dict[str, Callable[..., Any]] = {
        "furnace-monitor": build_reader,
        "naive (detection + recognition every frame)": build_naive_reader,
    }
    if not args.compare:
        builders = dict([list(builders.items())[1 if args.naive else 0]])
    if args.variants:
        from monitor.evaluation import ocr_sweep as sweep

        (build,) = builders.values()
        try:
            classes = sweep.select(args.classes)
        except ValueError as exc:
            print(f"error: {exc}", file=sys.stderr)
            return 2
        reader = build(config.overlay, config.ocr)
        swept = sweep.run_sweep(args.variants, reader, frames=args.seconds or 300, classes=classes,
                                       progress=not args.quiet)  # fmt: skip
        print(sweep.format_sweep(swept))
        if args.confusions:
            print(sweep.format_confusions(swept))
        if args.json:
            args.json.write_text(json.dumps(sweep.sweep_json(swept), indent=2) + "\n", encoding="utf-8")
        return 0
    if args.frames is None or args.truth is None:
        print("error: give FRAMES and --truth, or --variants DIR", file=sys.stderr)
        return 2
    results = {}
    for name, build in builders.items():
        reader = build(config.overlay, config.ocr)
        results[name] = evaluate_run(args.frames, args.truth, reader, size=_frame_size(config),
                                     progress=not args.quiet)  # fmt: skip
        print(f"reader: {name}, engine {config.ocr.engine}")
        print(format_score(results[name].score, frames=results[name].frames, seconds=results[name].seconds))
        print()
    doc: dict[str, object] = {
        "engine": config.ocr.engine,
        "readers": {k: v.to_json() for k, v in results.items()},
    }
    if args.compare:
        ours, naive = results.values()
        doc["speedup_vs_naive"] = round(ours.frames_per_s / naive.frames_per_s, 2)
        print(f"speed-up over the naive reader: {doc['speedup_vs_naive']}x")
    if args.json:
        args.json.write_text(json.dumps(doc, indent=2) + "\n", encoding="utf-8")
    return 0


def cmd_analyze(args: argparse.Namespace) -> int:
    from monitor.analytics.outputs import write_outputs
    from monitor.pipeline.batch import analyze_frames, analyze_table
    from monitor.pipeline.process import build_processor

    config = load_config(args.config)
    if args.models:
        config = _with_models(config, args.models)
    if args.features:
        run = args.features.stem
        result = analyze_table(
            args.features, args.temperatures, run=run, plausibility=config.ocr.plausibility,
            confirm_frames=config.analytics.confirm_frames,
        )  # fmt: skip
    elif args.frames:
        paths = usable_frames(args.frames, size=_frame_size(config))
        result = analyze_frames(paths, build_processor(config), run=args.frames.name,
                                size=_frame_size(config), progress=not args.quiet)  # fmt: skip
    else:
        print("error: give FRAMES or --features CSV", file=sys.stderr)
        return 2
    written = write_outputs(args.output, result, report=not args.no_report)
    print(describe_analysis(result))
    print("\nwritten: " + ", ".join(str(p) for p in written.values()))
    return 0


def cmd_train(args: argparse.Namespace) -> int:
    from monitor.nets.train import TrainPlan, describe_training, plan_for, train_models

    config = load_config(args.config)
    plan = TrainPlan.from_yaml(args.options) if args.options else plan_for(args.preset)
    for folder in [*args.frames, *(args.heldout or [])]:
        usable_frames(folder)
    if args.only:
        plan = plan.model_copy(update={"models": (args.only,)})
    started = time.perf_counter()
    saved = train_models(
        args.frames, args.output, config=config, plan=plan, heldout=args.heldout or [], device=args.device,
        progress=not args.quiet,
    )  # fmt: skip
    print(describe_training(saved))
    print(f"\ntrained in {time.perf_counter() - started:.0f} s")
    return 0


def cmd_evaluate_models(args: argparse.Namespace) -> int:
    import json
    from dataclasses import asdict

    from monitor.evaluation.models import evaluate_runs, format_runs, training_means
    from monitor.pipeline.process import build_processor

    config = _with_models(load_config(args.config), args.models)
    for folder in args.frames:
        usable_frames(folder, size=_frame_size(config))
    scores = evaluate_runs(args.frames, build_processor(config), train_means=training_means(args.models),
                           size=_frame_size(config), progress=not args.quiet)  # fmt: skip
    print(format_runs(scores))
    if args.json:
        doc = {name: asdict(score) for name, score in scores.items()}
        args.json.write_text(json.dumps(doc, indent=2) + "\n", encoding="utf-8")
    return 0


def cmd_evaluate_analytics(args: argparse.Namespace) -> int:
    from monitor.analytics.features import FeatureExtractor
    from monitor.evaluation import analytics_sweep as sweep
    from monitor.evaluation import sweep_cases as cases

    config = load_config(args.config)
    try:
        known = (*cases.VARIANTS, *cases.PROBES)
        variants = cases.select(args.variants, known, "variant") if args.variants else list(cases.VARIANTS)
        programmes = (*cases.SCENARIOS, *cases.PROBE_SCENARIOS)
        chosen = cases.select(args.scenarios, programmes, "scenario") if args.scenarios else cases.SCENARIOS
        scenarios = cases.reseeded(chosen, args.seed_offset)
    except ValueError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2

    results = sweep.run_sweep(
        args.out,
        sweep.processor_builder(config),
        variants=variants,
        scenarios=scenarios,
        progress=not args.quiet,
    )
    print(sweep.format_sweep(results))
    first = args.out / results[0].variant / results[0].scenario.name
    rate = sweep.features_and_stages_rate(first, FeatureExtractor(config.analytics, config.overlay))
    print(f"features + stage detection: {rate:.0f} frames/s (JPEG decode excluded)")
    (args.out / "sweep.json").write_text(sweep.sweep_json(results) + "\n", encoding="utf-8")
    return 0 if all(r.passed for r in results) else 1


def cmd_evaluate_restarts(args: argparse.Namespace) -> int:
    from monitor.evaluation.restarts import format_trials, restart_trials
    from monitor.pipeline.process import processor_factory

    processors = processor_factory(load_config(args.config))
    trials = restart_trials(args.runs, processors, args.work, kills=args.kills, seed=args.seed)
    print(format_trials(trials))
    return 0 if all(t.passed for t in trials) else 1


def _with_models(config, folder: Path):  # -> MonitorConfig
    """The config with the model step on, for whichever trained models `folder` holds."""
    from monitor.nets.manifest import MANIFEST_NAME
    from monitor.nets.runtime import FORECAST_DIR, REGRESSOR_DIR

    found = {name: (folder / name / MANIFEST_NAME).is_file() for name in (REGRESSOR_DIR, FORECAST_DIR)}
    if not any(found.values()):
        raise ModelError(f"{folder}: no trained model ({REGRESSOR_DIR}/ or {FORECAST_DIR}/ with a manifest)")
    models = config.models.model_copy(
        update={"enabled": True, "dir": folder, "temperature_progress": found[REGRESSOR_DIR],
                "forecast": found[FORECAST_DIR]}
    )  # fmt: skip
    return config.model_copy(update={"models": models})


def _frame_size(config) -> tuple[int, int] | None:
    o = config.overlay
    return (o.frame_width, o.frame_height) if o.frame_width and o.frame_height else None


def cmd_run(args: argparse.Namespace) -> int:
    from monitor.service.app import run_service

    return run_service(args.config)


def cmd_demo(args: argparse.Namespace) -> int:
    from monitor.demo import run_demo

    mqtt_config = load_config(args.config).mqtt if args.config else None
    return run_demo(
        args.out, seed=args.seed, mqtt_config=mqtt_config, models_dir=None if args.no_models else args.models
    )


def cmd_bench(args: argparse.Namespace) -> int:
    from monitor.bench import BenchOptions, format_table, run_bench, write_document
    from monitor.bench.latency import DaemonError

    if args.frames < 1 or args.warmup < 0 or args.rate <= 0:
        print("error: --frames must be >= 1, --warmup >= 0 and --rate > 0", file=sys.stderr)
        return 2
    options = BenchOptions(frames=args.frames, warmup=args.warmup, rate=args.rate, models_dir=args.models,
                           start_s=args.start, work=args.work)  # fmt: skip
    # rebuilt from the parsed arguments (sys.argv is the caller's when main() is called with a list)
    command = ["furnace-monitor", "bench", "-o", str(args.output), "--frames", str(args.frames), "--warmup",
               str(args.warmup), "--rate", f"{args.rate:g}", "--models", str(args.models), "--start",
               str(args.start), *(["--work", str(args.work)] if args.work else [])]  # fmt: skip
    try:
        doc = run_bench(options, command=command)
    except DaemonError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    write_document(args.output, doc)
    print(format_table(doc))
    print(f"\nwritten: {args.output}")
    return 0 if doc.delivery.ok else 1


DESCRIPTION = """\
furnace-monitor reads the camera of a hot-thermocouple furnace. From every frame it takes the time and the
1#/2# temperatures burned into the image, tells the stage of the sample (melting, fully molten,
crystallizing) and, with trained models, the temperature and crystalline fraction seen in the image and a
forecast frame. Run it as a service that watches the camera's folder and publishes each frame to MQTT,
InfluxDB and a local store, or point it at a recorded run to get a table and an HTML report."""

EPILOG = """\
start here:
  furnace-monitor demo                           the whole story on a synthetic run, on this machine
  furnace-monitor doctor -c monitor.yaml         is this machine ready? one line per check, what to fix
  furnace-monitor analyze RUN/ -o out/           a recorded run -> table, stage events, report.html
  furnace-monitor run -c monitor.yaml            the service (systemd: see systemd/furnace-monitor.service)

exit codes: 0 done; 1 an evaluation missed its target; 2 bad input, config or start-up problem (one line
on stderr says what). `furnace-monitor COMMAND --help` shows each command's options and examples."""


def _command(sub: Any, name: str, summary: str, description: str, examples: str) -> argparse.ArgumentParser:
    """A subcommand whose --help says what it does for the user, then examples."""
    return sub.add_parser(
        name, help=summary, description=description, epilog="examples:\n" + examples,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )  # fmt: skip


def _quiet(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("-q", "--quiet", action="store_true", help="no progress bar (for scripts and logs)")


def _config(parser: argparse.ArgumentParser, why: str = "overlay box, OCR, sample box") -> None:
    parser.add_argument(
        "-c",
        "--config",
        type=Path,
        metavar="YAML",
        help=f"your config file ({why}); default: built-in defaults",
    )


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="furnace-monitor", description=DESCRIPTION, epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )  # fmt: skip
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    parser.add_argument(
        "--log-level", default="INFO", choices=["DEBUG", "INFO", "WARNING", "ERROR"],
        help="how much the command logs on stderr (default INFO; DEBUG to report a problem)",
    )  # fmt: skip
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    sim = _command(
        sub, "simulate", "write a synthetic run (frames, truth.csv, events.json): try it without a furnace",
        "Renders the camera frames of a synthetic furnace run, one per second, with the overlay the\n"
        "recorder burns in, plus truth.csv (the true temperatures and stages) and events.json. Use it to\n"
        "try the monitor, the report or a config before the real camera is connected.",
        "  furnace-monitor simulate runs/sim1                      562 frames, the reference run\n"
        "  furnace-monitor simulate runs/short --seconds 60 --start 540 --realtime   1 frame/s, for `run`\n"
        "  furnace-monitor simulate runs/hot --peak-c 1550 --noise 4 --seed 7",
    )  # fmt: skip
    sim.add_argument("out", type=Path, help="folder to write the run into (created)")
    sim.add_argument("--seconds", type=int, help="how many frames, one per second (default 562)")
    sim.add_argument("--start", type=int, help="run time of the first frame, s (default 110)")
    sim.add_argument("--seed", type=int, help="random seed: the same seed gives the same run (default 0)")
    sim.add_argument("--options", type=Path, help="YAML file of simulation options (the flags override it)")
    sim.add_argument("--start-c", type=float, help="1# temperature at the ramp start, degC (default 900)")
    sim.add_argument("--peak-c", type=float, help="hold temperature, degC (default 1500)")
    sim.add_argument("--peak-at-s", type=float, help="run time the peak is reached, s (default 222)")
    sim.add_argument("--hold-s", type=float, help="how long the peak is held, s (default 99)")
    sim.add_argument("--cool-rate", type=float, help="cooling rate, degC/s (default 1.97)")
    sim.add_argument(
        "--crystallization-c", type=float, help="temperature the sample crystallizes at, degC (default 1053)"
    )
    sim.add_argument("--quality", type=int, help="JPEG quality of the frames, 1-100 (default 90)")
    sim.add_argument("--noise", type=float, help="camera noise sigma, grey levels (default 2)")
    sim.add_argument(
        "--exposure", choices=("fixed", "auto"), help="camera exposure (default auto; the rest via --options)"
    )
    sim.add_argument("--width", type=int, help="frame width, px (default 1024)")
    sim.add_argument("--height", type=int, help="frame height, px (default 768)")
    sim.add_argument(
        "--realtime", action="store_true", help="write the frames at camera pace, to feed a running service"
    )
    sim.add_argument("--fps", type=float, help="frames per second with --realtime (default 1)")
    sim.add_argument(
        "--slow-writes", action="store_true", help="write each frame in chunks, like a slow network share"
    )
    sim.add_argument("--workers", type=int, help="render processes (default: one per core)")
    _quiet(sim)
    sim.set_defaults(func=cmd_simulate)

    chk = _command(
        sub, "check-config", "check a config file and this machine's folders and port; exit 0 if OK, else 2",
        "Validates the config (every error, by key path), then checks what it points at on this machine:\n"
        "the frames folder is readable, the checkpoint, outbox and store folders writable, the HTTP port\n"
        "free, the model folders present. One line per check, OK or FAIL with what to fix. Run it as the\n"
        "user the service runs as (e.g. `runuser -u furnace -- furnace-monitor check-config ...`).",
        "  furnace-monitor check-config -c /etc/furnace-monitor/monitor.yaml\n"
        "  furnace-monitor check-config -c monitor.yaml --syntax-only      in CI, on another machine",
    )  # fmt: skip
    chk.add_argument(
        "-c", "--config", type=Path, required=True, metavar="YAML", help="the config file to check"
    )
    chk.add_argument(
        "--syntax-only",
        action="store_true",
        help="only validate the file, not this machine's folders and port",
    )
    chk.set_defaults(func=cmd_check_config)

    doc = _command(
        sub, "doctor", "is this machine ready? config, folders, OCR models, broker, InfluxDB, GPU/CPU, disk",
        "Checks everything the service needs, one line each with what to fix: the checks of check-config,\n"
        "the OCR models (present and loadable; nothing is downloaded), the overlay font (only `simulate`\n"
        "needs it), the MQTT broker and InfluxDB when enabled (a real connection, 3 s timeout), torch's\n"
        "GPU or CPU, and the free disk of the data folders. Exit 0 when every essential check passes\n"
        "(WARN lines are advice), else 2.",
        "  furnace-monitor doctor -c /etc/furnace-monitor/monitor.yaml\n"
        "  furnace-monitor doctor                                the built-in defaults (localhost broker)",
    )  # fmt: skip
    _config(doc, "the broker, InfluxDB and folders to check")
    doc.set_defaults(func=cmd_doctor)

    dig = _command(
        sub, "digitize", "read the time and 1#/2# temperatures of every frame into a CSV or XLSX table",
        "Reads the overlay burned into each frame of a recorded run (the time and the 1#/2# thermocouple\n"
        "temperatures) with local OCR models, and writes one row per frame. Doubtful reads are re-read by\n"
        "a second model, then flagged in the table rather than guessed.",
        "  furnace-monitor digitize runs/2022-05-17/ -o temps.xlsx\n"
        "  furnace-monitor digitize runs/2022-05-17/ -o temps.csv --plot temps.png -c monitor.yaml",
    )  # fmt: skip
    dig.add_argument("frames", type=Path, help="folder of the frames of one run")
    dig.add_argument("-o", "--output", type=Path, required=True, help="the table to write: .csv or .xlsx")
    _config(dig)
    dig.add_argument("--engine", choices=["onnxruntime", "paddle"], help="OCR engine, instead of ocr.engine")
    dig.add_argument("--plot", type=Path, help="also draw the 1#/2# temperature curves into this PNG")
    _quiet(dig)
    dig.set_defaults(func=cmd_digitize)

    ev = _command(
        sub, "evaluate-ocr", "score the OCR on simulated runs against their truth (accuracy, speed)",
        "Digitizes a simulated run and compares every read with its truth.csv; or, with --variants, renders\n"
        "other fonts and cameras and scores each. For measuring the reader, not for daily use.",
        "  furnace-monitor evaluate-ocr runs/sim1 --truth runs/sim1/truth.csv --compare\n"
        "  furnace-monitor evaluate-ocr --variants work/ocr --classes reference font:latin-mono --confusions",
    )  # fmt: skip
    ev.add_argument("frames", type=Path, nargs="?", help="folder of the frames of one simulated run")
    ev.add_argument("--truth", type=Path, help="the run's truth.csv")
    ev.add_argument(
        "--variants", type=Path, help="instead: simulate and score the variant sweep in this folder"
    )
    ev.add_argument("--seconds", type=int, help="with --variants: frames per variant class (default 300)")
    ev.add_argument("--classes", nargs="+", metavar="NAME", help="with --variants: these classes only")
    ev.add_argument("--confusions", action="store_true", help="with --variants: list every misread")
    _config(ev)
    ev.add_argument("--engine", choices=["onnxruntime", "paddle"], help="OCR engine, instead of ocr.engine")
    ev.add_argument("--naive", action="store_true", help="score the naive reference reader instead")
    ev.add_argument(
        "--compare", action="store_true", help="score both readers in this run, with the speed-up"
    )
    ev.add_argument("--json", type=Path, help="also write the figures as JSON")
    _quiet(ev)
    ev.set_defaults(func=cmd_evaluate_ocr)

    an = _command(
        sub, "analyze", "a recorded run -> temperatures, stage events, thermocouple health, report.html",
        "Processes one recorded run the way the service does (OCR, image features, stage detection, and the\n"
        "trained models with --models) and writes features.csv, events.json, the plots and report.html.\n"
        "Also works from a table of mean colours (--features) when only the numbers were kept.",
        "  furnace-monitor analyze runs/2022-05-17/ -o reports/2022-05-17\n"
        "  furnace-monitor analyze runs/2022-05-17/ -o out --models models/\n"
        "  furnace-monitor analyze -o out --features colours.xlsx --temperatures temps.xlsx",
    )  # fmt: skip
    an.add_argument("frames", type=Path, nargs="?", help="folder of the frames of one run")
    an.add_argument(
        "-o", "--output", type=Path, required=True, help="folder for the tables, plots and report"
    )
    _config(an)
    an.add_argument(
        "--features", type=Path, help="instead of frames: a table of Time, meanB, meanG, meanR per second"
    )
    an.add_argument("--temperatures", type=Path, help="with --features: a table of Time, 1#/2# Temperature")
    an.add_argument("--no-report", action="store_true", help="only features.csv and events.json, no plots")
    an.add_argument(
        "--models", type=Path, help="also run the trained models in this folder (adds their columns)"
    )
    _quiet(an)
    an.set_defaults(func=cmd_analyze)

    tr = _command(
        sub, "train", "train the image models (temperature/progress, forecast) on your recorded runs",
        "Trains the models that read the temperature and crystalline progress from the image and forecast\n"
        "the next frames, on runs you recorded (their overlay gives the labels). Writes the weights and a\n"
        "manifest.json per model into the output folder; point models.dir at it.",
        "  furnace-monitor train runs/r1 runs/r2 runs/r3 -o models/ --heldout runs/r4\n"
        "  furnace-monitor train runs/r1 -o models/ --preset demo --only temperature_progress",
    )  # fmt: skip
    tr.add_argument("frames", type=Path, nargs="+", help="folders of frames, one run each")
    tr.add_argument("-o", "--output", type=Path, required=True, help="models folder to write (e.g. models/)")
    tr.add_argument(
        "--heldout", type=Path, nargs="+", help="runs kept out of training, to measure the models on"
    )
    tr.add_argument(
        "--preset", choices=["demo", "full"], default="full", help="demo = minutes, full = the real recipe"
    )
    tr.add_argument("--options", type=Path, help="a YAML training plan instead of a preset")
    tr.add_argument("--only", choices=["temperature_progress", "forecast"], help="train only this model")
    tr.add_argument(
        "--device", choices=["auto", "cpu", "cuda"], default="auto", help="where to train (auto = GPU if any)"
    )
    _config(tr)
    _quiet(tr)
    tr.set_defaults(func=cmd_train)

    em = _command(
        sub, "evaluate-models", "score the trained models on simulated runs against their truth",
        "Runs the trained models on simulated runs and reports the temperature and progress errors and the\n"
        "forecast quality. For measuring models before deploying them.",
        "  furnace-monitor evaluate-models runs/sim1 runs/sim2 --models models/ --json scores.json",
    )  # fmt: skip
    em.add_argument("frames", type=Path, nargs="+", help="folders of simulated runs (each with truth.csv)")
    em.add_argument("--models", type=Path, required=True, help="trained models folder (e.g. models/)")
    _config(em)
    em.add_argument("--json", type=Path, help="also write the scores as JSON")
    _quiet(em)
    em.set_defaults(func=cmd_evaluate_models)

    ea = _command(
        sub, "evaluate-analytics", "check the stage detection on other cameras and programmes (simulated)",
        "Simulates runs through other cameras (variants) and furnace programmes (scenarios), analyses them\n"
        "and scores the detected stage events against the truth. Exit 1 if any misses its target.",
        "  furnace-monitor evaluate-analytics work/sweep\n"
        "  furnace-monitor evaluate-analytics work/sweep --variants zoomed --scenarios hot-fast-cooling",
    )  # fmt: skip
    ea.add_argument("out", type=Path, help="working folder (runs are kept and reused)")
    ea.add_argument("--variants", nargs="+", metavar="NAME",
                    help="camera variants (default: the sweep's ten; also the probe cameras slow-settle,"
                         " narrow-ae, dim-gain, long-glints, heavy-blur, small-sample, strong-flicker,"
                         " bright-gain, noisy, frequent-glints, small-frame, vga, offset-far,"
                         " dim-noisy, late-start, mid-melt-start)")  # fmt: skip
    ea.add_argument("--scenarios", nargs="+", metavar="NAME",
                    help="programmes and seeds (default: the sweep's five; also the probe programmes"
                         " slow-heat-long, fast-cool-short, low-liquidus-hot, steep-kinetics, quick-ramp-hot,"
                         " slow-cool-long, low-peak-linear, jittery-fast)")  # fmt: skip
    ea.add_argument("--seed-offset", type=int, default=0, metavar="N",
                    help="add N to every scenario's seed: runs unseen while tuning (default: 0)")  # fmt: skip
    _config(ea)
    _quiet(ea)
    ea.set_defaults(func=cmd_evaluate_analytics)

    rs = _command(
        sub, "evaluate-restarts", "kill the service at random frames: does it resume to the same results?",
        "Runs the service on recorded runs, kills it at random frames, restarts it, and compares what was\n"
        "published with an uninterrupted run. Exit 1 if any trial differs.",
        "  furnace-monitor evaluate-restarts runs/sim1 runs/sim2 --work work/restarts --kills 3",
    )  # fmt: skip
    rs.add_argument("runs", type=Path, nargs="+", metavar="RUN", help="run folders")
    rs.add_argument("--work", type=Path, required=True, help="working folder (checkpoints, outboxes)")
    rs.add_argument("--kills", type=int, default=2, help="kills per run (default 2)")
    rs.add_argument("--seed", type=int, default=0, help="seed of the kill frames: same seed, same kills")
    _config(rs)
    rs.set_defaults(func=cmd_evaluate_restarts)

    rn = _command(
        sub, "run", "the service: watch the camera's folder, publish every frame to MQTT / InfluxDB / store",
        "Watches ingest.watch_dir (one sub-folder per run), processes each new frame and publishes it;\n"
        "stage events and alerts go out as they happen. Resumes after a restart from its checkpoints, and\n"
        "keeps what the outputs did not take yet in an outbox on disk. SIGTERM stops it cleanly, SIGHUP\n"
        "reloads the log level. One service per state folder. A start-up problem (bad config, folder not\n"
        "writable, port in use, another instance) ends it with exit 2 and one line saying what.",
        "  furnace-monitor run -c /etc/furnace-monitor/monitor.yaml\n"
        "  systemctl start furnace-monitor                       the same, under systemd",
    )  # fmt: skip
    rn.add_argument(
        "-c", "--config", type=Path, required=True, metavar="YAML",
        help="your config file (start from config/monitor.yaml; check it with check-config)",
    )  # fmt: skip
    rn.set_defaults(func=cmd_run)

    demo = _command(
        sub, "demo", "the whole story on a synthetic run, on this machine: MQTT lines, alert, report",
        "Simulates a run into a watched folder, runs the service on it with a private MQTT broker (or\n"
        "yours with -c), and shows the frames, stage events and the crystallization alert as they are\n"
        "published, then the run's report; then trains quick models when none are found and checks\n"
        "them on the live run.",
        "  furnace-monitor demo\n"
        "  furnace-monitor demo --out /tmp/demo --no-models\n"
        "  furnace-monitor demo -c monitor.yaml                  publish to your broker",
    )  # fmt: skip
    demo.add_argument("--out", type=Path, default=Path("demo"), help="working folder (default ./demo)")
    demo.add_argument("--seed", type=int, default=0, help="seed of the synthetic run (default 0)")
    demo.add_argument(
        "-c",
        "--config",
        type=Path,
        metavar="YAML",
        help="use this config's MQTT broker instead of a private one",
    )
    demo.add_argument(
        "--models", type=Path, default=Path("models"), help="trained models; quick ones are trained if none"
    )
    demo.add_argument("--no-models", action="store_true", help="run without the learned models (faster)")
    demo.set_defaults(func=cmd_demo)

    bench = _command(
        sub, "bench", "measure latency, throughput and memory on this machine, against the naive way",
        "Feeds frames to a real service at a steady rate and measures the latency from file to MQTT, the\n"
        "throughput and the memory, next to a naive reader. Writes the figures as JSON.",
        "  furnace-monitor bench -o bench.json\n"
        "  furnace-monitor bench -o bench.json --frames 300 --rate 1 --work work/bench",
    )  # fmt: skip
    bench.add_argument("-o", "--output", type=Path, required=True, help="the figures as JSON")
    bench.add_argument("--frames", type=int, default=100, help="measured frames per phase (default 100)")
    bench.add_argument("--warmup", type=int, default=5, help="uncounted frames before them (default 5)")
    bench.add_argument(
        "--rate", type=float, default=2.0, help="frames/s written for the daemon's latency (default 2)"
    )
    bench.add_argument(
        "--models", type=Path, default=Path("models"), help="trained models; demo-size ones trained if none"
    )
    bench.add_argument("--start", type=int, default=110, help="run second of the first frame (default 110)")
    bench.add_argument("--work", type=Path, help="keep the frames, daemon log and state here (default: temp)")
    bench.set_defaults(func=cmd_bench)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    setup_logging(args.log_level)
    try:
        return int(args.func(args))
    except StartupError as exc:
        # a config or start-up problem the user fixes: one line through logging, no traceback
        log.error("%s", " ".join(str(exc).split()))
        return 2
    except ValidationError as exc:
        print(f"invalid options:\n{exc}", file=sys.stderr)
        return 2
    except (ModelError, NoFramesError, FileNotFoundError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
