"""`furnace-monitor demo`: the whole story on a synthetic run, on this machine, with no services to install.

The live part comes first, so the point shows at once: a private Mosquitto, the daemon watching a folder,
the simulator writing a run into it in accelerated real time, a real MQTT subscriber printing the frames,
the stage events and the crystallization alert. Then the run's report. Then, when the models folder has
none, quick models are trained, and they are checked on the live run they never saw. The console shows
the seconds since the start at each milestone."""

import csv
import sys
from pathlib import Path

from monitor.analytics.result import AnalysisResult
from monitor.config import MonitorConfig, parse_config
from monitor.config.mqtt import MqttConfig
from monitor.demo.clock import Clock
from monitor.demo.live import LiveRun, run_live
from monitor.demo.outdir import OutFolderError, prepare_out
from monitor.demo.training import models_ready, train_demo_models
from monitor.simulate.summary import describe_run
from monitor.summary import describe_analysis


def run_demo(
    out: Path,
    *,
    seed: int = 0,
    fps: float = 25.0,
    mqtt_config: MqttConfig | None = None,
    models_dir: Path | None = Path("models"),
) -> int:
    """`mqtt_config` (from `demo -c CONFIG` with mqtt enabled) is an external broker that wins over the
    private one; `models_dir` None runs without the learned models. Exit 2 when `out` is not the demo's."""
    clock = Clock()
    try:
        prepare_out(out)
    except OutFolderError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    trained = models_dir is not None and models_ready(models_dir)
    if models_dir is not None:
        print(
            f"0. Trained models found in {models_dir}: the live run uses them (delete them to train again)"
            if trained
            else f"0. No trained models in {models_dir} yet: the live run first, then quick ones are trained"
        )
    live = run_live(out, seed=seed, fps=fps, clock=clock, mqtt_config=mqtt_config,
                    models_dir=models_dir if trained else None)  # fmt: skip
    print(describe_run(live.run))
    result = _report(live)
    if live.report is not None:
        clock.mark(f"report written: {live.report.path}")
    if models_dir is not None:
        if not trained:
            train_demo_models(models_dir, out / "training", clock)
        _show_models(live, models_dir, result, seed)
        clock.mark("models checked on the live run")
    _where_next(live)
    clock.mark("demo done")
    return 0


def _report(live: LiveRun) -> AnalysisResult | None:
    """The run's report, as the daemon wrote it when the run ended (the live page links the same file)."""
    run_dir = live.run.out
    print("\n3. The run report the daemon wrote: features, stages, thermocouple health, kinetics")
    if live.report is None:
        print("   the daemon wrote no report (its log above says why)")
        return None
    result = live.report.result
    print("\n".join("   " + line for line in describe_analysis(result).splitlines()))
    print("   " + _overlay_check(result, run_dir / "truth.csv"))
    print(f"   true events: {run_dir / 'events.json'}")
    return result


def _overlay_check(result: AnalysisResult, truth_csv: Path) -> str:
    """How many overlay reads equal the simulator's truth (`evaluate-ocr` scores this in full)."""
    with truth_csv.open(encoding="utf-8") as f:
        truth = {row["file"]: row for row in csv.DictReader(f)}
    parts = []
    for name, reads, column in (("1#", result.t1, "t1_c"), ("2#", result.t2, "t2_c")):
        pairs = [(v, truth[f][column]) for f, v in zip(result.files, reads, strict=True) if f in truth]
        exact = sum(v is not None and round(v) == int(t) for v, t in pairs)
        parts.append(f"{name} {exact}/{len(pairs)}")
    return "overlay read exactly as the truth: " + ", ".join(parts)


def _show_models(live: LiveRun, models_dir: Path, result: AnalysisResult | None, seed: int) -> None:
    from monitor.demo.check import check_models
    from monitor.evaluation.models import format_score

    models = live.config.models.model_copy(update={"enabled": True, "dir": models_dir})
    box = result.sample.location.box if result is not None and result.sample is not None else None
    score, shot = check_models(live.run.out, models, box, published=live.progress)
    print(f"\n5. The models on the live run (seed {seed}, never trained on), against its truth:")
    print("\n".join("   " + line for line in format_score(score).splitlines()))
    if shot is not None:
        actual = f"; the real frame then: {shot.actual}" if shot.actual else ""
        print(f"   forecast +{shot.horizon_s:g} s from {shot.source.name}: {shot.forecast}{actual}")


def _where_next(live: LiveRun) -> None:
    own: MonitorConfig = parse_config({}, env={})
    topics = f"{own.mqtt.base_topic}/#"
    print("\nWhere to look next")
    if live.report is not None:
        print(f"   the report:    {live.report.path}")
    if live.page is not None:
        own_page = f"http://{own.http.host}:{own.http.port}/"
        print(f"   the live page: {live.page} while the demo's daemon ran; {own_page} for your daemon "
              "(`furnace-monitor run -c config/monitor.yaml`)")  # fmt: skip
    if live.broker is not None:
        host, port = live.broker
        print(f"   the topics:    mosquitto_sub -h {host} -p {port} -t '{topics}' -v  (the demo's broker; "
              f"your own: -h {own.mqtt.host} -p {own.mqtt.port})")  # fmt: skip
