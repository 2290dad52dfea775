"""The latency figures from MQTT arrivals: matched by file, warm-up left out, delivery judged."""

import json

import pytest

from monitor.bench.latency import Arrival, delivery, figures
from monitor.bench.stats import OTHER

WRITTEN = ["0110.jpg", "0111.jpg", "0112.jpg"]


@pytest.mark.parametrize(
    ("received", "lost", "duplicates", "in_order", "unexpected"),
    [
        (WRITTEN, [], 0, True, []),
        (["0110.jpg", "0112.jpg"], ["0111.jpg"], 0, True, []),
        (["0110.jpg", "0111.jpg", "0111.jpg", "0112.jpg"], [], 1, True, []),
        (["0110.jpg", "0112.jpg", "0111.jpg"], [], 0, False, []),
        ([*WRITTEN, "0999.jpg"], [], 0, True, ["0999.jpg"]),
    ],
    ids=["all-in-order", "lost", "duplicate", "reordered", "unexpected"],
)
def test_delivery_says_what_went_wrong(
    received: list[str], lost: list[str], duplicates: int, in_order: bool, unexpected: list[str]
) -> None:
    d = delivery(WRITTEN, received)
    assert (d["lost"], d["duplicates"], d["in_order"], d["unexpected"]) == (
        lost,
        duplicates,
        in_order,
        unexpected,
    )
    assert d["ok"] is (received == WRITTEN)
    assert d["written"] == 3 and d["received"] == len(received)


def _arrival(file: str, at: float, step_ms: dict[str, float]) -> Arrival:
    return Arrival("frame", json.dumps({"file": file, "step_ms": step_ms}).encode(), at)


def test_figures_match_by_file_and_leave_the_warmup_out() -> None:
    written = {"0110.jpg": 10.0, "0111.jpg": 11.0, "0112.jpg": 12.0}
    stages = {"decode": 5.0, "ocr": 20.0, "analytics": 5.0, "models": 30.0}
    arrivals = [
        _arrival("0110.jpg", 10.5, stages),  # warm-up: 500 ms, not counted
        _arrival("0112.jpg", 12.1, stages),  # arrival order does not matter for the figures
        _arrival("0111.jpg", 11.08, stages),
        _arrival("0111.jpg", 11.5, stages),  # a duplicate: the first copy counts
    ]
    f = figures(arrivals, written, measured=["0111.jpg", "0112.jpg"])
    assert f["latency_ms"]["min"] == pytest.approx(80.0) and f["latency_ms"]["max"] == pytest.approx(100.0)
    assert f["warmup_latency_ms"] == [500.0]
    parts = f["latency_stages"]
    assert list(parts) == ["decode", "ocr", "analytics", "models", OTHER]
    assert parts[OTHER]["mean_ms"] == pytest.approx(30.0)
    assert sum(p["mean_ms"] for p in parts.values()) == pytest.approx(f["latency_ms"]["mean"])
