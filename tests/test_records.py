"""events.json round trip."""

import json
from pathlib import Path

from monitor.records import EventType, Evidence, StageEvent, read_events, write_events


def test_events_round_trip(tmp_path: Path) -> None:
    events = [
        StageEvent(EventType.MELTING_START, 128.0, "0128.jpg", 1009.0),
        StageEvent(
            EventType.CRYSTALLIZATION_START, 548.0, "0548.jpg", None, confidence=0.8,
            evidence=(Evidence("sample contrast step (G)", -0.05, 0.012, "noise 0.002/frame"),),
        ),
    ]  # fmt: skip
    path = tmp_path / "events.json"
    write_events(path, events, run="r1")
    doc = json.loads(path.read_text(encoding="utf-8"))
    assert doc["run"] == "r1"
    assert doc["events"][0] == {"type": "melting_start", "time_s": 128.0, "file": "0128.jpg", "t1_c": 1009.0,
                                "confidence": 1.0, "evidence": []}  # fmt: skip
    assert doc["events"][1]["evidence"][0]["signal"] == "sample contrast step (G)"
    assert read_events(path) == events
