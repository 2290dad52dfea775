"""`furnace-monitor bench` on a few frames: tiny models, a real Mosquitto and the daemon as a process.
Only the document's structure and its invariants are checked, never a speed: figures belong in the bench."""

import contextlib
import io
import json
from pathlib import Path
from typing import Any

import pytest

from monitor.bench.document import BenchDocument
from monitor.bench.stats import OTHER
from monitor.cli import main
from tests.sinks.conftest import MOSQUITTO, require_binary

FRAMES, WARMUP = 3, 1
ENGINES = ("torch", "torch+channels_last", "onnx")


@pytest.fixture(scope="module")
def bench(tiny_models: Path, tmp_path_factory: pytest.TempPathFactory) -> tuple[dict[str, Any], str]:
    """The document and what was printed, from one bench run shared by the tests below."""
    require_binary(MOSQUITTO)  # the bench starts its own private broker with it
    tmp = tmp_path_factory.mktemp("bench")
    out, printed = tmp / "bench.json", io.StringIO()
    args = ["bench", "-o", str(out), "--frames", str(FRAMES), "--warmup", str(WARMUP), "--rate", "5",
            "--models", str(tiny_models), "--work", str(tmp / "work")]  # fmt: skip
    with pytest.MonkeyPatch.context() as mp, contextlib.redirect_stdout(printed):
        mp.setenv("XDG_CACHE_HOME", str(tmp / "cache"))  # the ONNX exports stay in the test's folder
        assert main(args) == 0
    text = out.read_text(encoding="utf-8")
    assert BenchDocument.from_json(text).to_json() == text  # the file is the typed document
    return json.loads(text), printed.getvalue()


def test_the_issue_keys_are_there(bench: tuple[dict[str, Any], str]) -> None:
    doc, _ = bench
    assert set(doc["latency_ms"]) >= {"p50", "p95", "p99"}
    assert doc["speedup_vs_naive"] > 0 and doc["peak_rss_mb"] > 0
    assert doc["frames"] == FRAMES and doc["warmup_frames"] == WARMUP
    assert doc["command"][:2] == ["furnace-monitor", "bench"] and doc["date"]
    assert doc["machine"]["cores"] >= 1 and isinstance(doc["machine"]["gpu"], bool)
    assert doc["versions"]["torch"] and doc["versions"]["onnxruntime"]


def test_percentiles_are_ordered(bench: tuple[dict[str, Any], str]) -> None:
    doc, _ = bench
    for p in (doc["latency_ms"], doc["naive"]["frame_ms"], doc["pipeline"]["full_pipeline_frame_ms"]):
        assert p["min"] <= p["p50"] <= p["p95"] <= p["p99"] <= p["max"]


def test_every_frame_arrived_once_in_order(bench: tuple[dict[str, Any], str]) -> None:
    doc, _ = bench
    d = doc["delivery"]
    assert d["ok"] and d["in_order"] and not d["lost"] and d["duplicates"] == 0
    assert d["written"] == d["received"] == FRAMES + WARMUP
    assert len(doc["warmup_latency_ms"]) == WARMUP
    assert doc["daemon"]["exit_code"] == 0 and doc["daemon"]["errors_logged"] == 0


def test_stage_shares_add_up_to_the_end_to_end_mean(bench: tuple[dict[str, Any], str]) -> None:
    doc, _ = bench
    stages = doc["latency_stages"]
    assert list(stages) == ["decode", "ocr", "analytics", "models", OTHER]
    assert sum(s["mean_ms"] for s in stages.values()) == pytest.approx(doc["latency_ms"]["mean"], abs=0.1)
    assert sum(s["share_pct"] for s in stages.values()) == pytest.approx(100.0, abs=0.5)


def test_ratios_follow_from_the_throughputs(bench: tuple[dict[str, Any], str]) -> None:
    doc, _ = bench
    ours, naive = doc["throughput_fps"], doc["naive"]["throughput_fps"]
    assert set(ours) == {"digitize", "analyze", "full_pipeline"} and all(v > 0 for v in ours.values())
    assert doc["speedup_vs_naive"] == pytest.approx(ours["full_pipeline"] / naive, rel=0.02)
    assert doc["ratios"]["full_pipeline_throughput"] == doc["speedup_vs_naive"]
    for key, t in doc["targets"].items():
        assert t["met"] == (
            t["value"] >= 3 if key == "speedup_vs_naive" else t["value"] <= float(t["target"][3:])
        )


def test_engines_are_measured_per_model(bench: tuple[dict[str, Any], str]) -> None:
    doc, _ = bench
    engines = doc["engines"]
    assert engines["default_backend"] in ("torch", "onnx")
    assert set(engines["models"]) == {"temperature_progress", "forecast"}
    for figures in engines["models"].values():
        medians = {name: figures[name]["median_ms"] for name in ENGINES}
        assert all(v > 0 for v in medians.values())
        assert figures["fastest"] == min(medians, key=medians.__getitem__)
    assert set(doc["pipeline"]["engines"]) == {"temperature_progress", "forecast"}  # what `auto` loaded
    assert set(doc["pipeline"]["engines"].values()) <= set(ENGINES)


def test_the_table_is_printed(bench: tuple[dict[str, Any], str]) -> None:
    doc, printed = bench
    assert f"p50 {doc['latency_ms']['p50']:.1f} ms" in printed
    assert "full pipeline" in printed and "naive" in printed and "peak RSS" in printed
    assert "every file once, in order" in printed


@pytest.mark.parametrize("flags", [["--frames", "0"], ["--warmup", "-1"], ["--rate", "0"]])
def test_impossible_options_are_refused(flags: list[str], tmp_path: Path) -> None:
    assert main(["bench", "-o", str(tmp_path / "b.json"), *flags]) == 2
    assert not (tmp_path / "b.json").exists()
