"""Targets are judged in the right direction; ratios say > 1 when ours is better; the document is typed
and the published one still loads."""

import json

import pytest
from pydantic import ValidationError

from monitor.bench.document import BenchDocument
from monitor.bench.report import ratios, targets
from tests.conftest import REPO


def _doc(p50: float, p99: float, speedup: float | None, rss: float | None) -> dict:
    return {"latency_ms": {"p50": p50, "p99": p99}, "speedup_vs_naive": speedup, "peak_rss_mb": rss}


@pytest.mark.parametrize(
    ("doc", "missed"),
    [
        (_doc(150.0, 300.0, 3.0, 2500.0), set()),
        (_doc(151.0, 300.0, 3.0, 2500.0), {"latency_p50_ms"}),
        (_doc(100.0, 301.0, 3.0, 2500.0), {"latency_p99_ms"}),
        (_doc(100.0, 200.0, 2.9, 2500.0), {"speedup_vs_naive"}),
        (_doc(100.0, 200.0, 5.0, 2600.0), {"peak_rss_mb"}),
        (_doc(100.0, 200.0, None, None), {"speedup_vs_naive", "peak_rss_mb"}),
    ],
    ids=["at-the-limits", "p50", "p99", "speedup", "memory", "unknown"],
)
def test_targets(doc: dict, missed: set[str]) -> None:
    checked = targets(doc)
    assert {k for k, v in checked.items() if not v["met"]} == missed
    assert checked["speedup_vs_naive"]["target"] == ">= 3" and checked["peak_rss_mb"]["target"] == "<= 2500"


def test_ratios_are_ours_over_naive_for_rates_and_naive_over_ours_for_times() -> None:
    ours = {
        "throughput_fps": {"full_pipeline": 10.0},
        "full_pipeline_frame_ms": {"p50": 100.0},
        "full_pipeline_stages_ms": {"ocr": 20.0, "models": 40.0},
    }
    naive = {
        "throughput_fps": 2.0,
        "frame_ms": {"p50": 500.0},
        "stages_ms": {"ocr": 100.0},
        "models_ms": 400.0,
    }
    assert ratios(ours, naive) == {
        "full_pipeline_throughput": 5.0,
        "frame_ms_p50": 5.0,
        "ocr_ms": 5.0,
        "models_ms": 10.0,
    }


def test_the_published_document_loads_and_is_written_back_the_same() -> None:
    text = (REPO / "docs" / "results" / "bench.json").read_text(encoding="utf-8")
    doc = BenchDocument.from_json(text)
    assert doc.to_json() == text  # the format is unchanged, byte for byte
    assert doc.schema_version == 1 and doc.latency_ms.p50 <= doc.latency_ms.p99
    assert doc.engines.models["forecast"].torch_channels_last.median_ms > 0


def test_a_document_that_drifts_is_refused() -> None:
    data = json.loads((REPO / "docs" / "results" / "bench.json").read_text(encoding="utf-8"))
    data["delivery"]["resent"] = 0  # a key no reader knows
    with pytest.raises(ValidationError, match=r"delivery\.resent"):
        BenchDocument.model_validate(data)
    del data["delivery"]["resent"], data["latency_ms"]["p99"]
    with pytest.raises(ValidationError, match=r"latency_ms\.p99"):
        BenchDocument.model_validate(data)
