"""events.json round trip."""

import json
from pathlib import Path

from monitor.records import EventType, StageEvent, read_events, write_events


def test_events_round_trip(tmp_path: Path) -> None:
    events = [
        StageEvent(EventType.MELTING_START, 128.0, "0128.jpg", 1009.0),
        StageEvent(EventType.CRYSTALLIZATION_START, 548.0, "0548.jpg", None),
    ]
    path = tmp_path / "events.json"
    write_events(path, events, run="r1")
    doc = json.loads(path.read_text(encoding="utf-8"))
    assert doc["run"] == "r1"
    assert doc["events"][0] == {"type": "melting_start", "time_s": 128.0, "file": "0128.jpg", "t1_c": 1009.0}
    assert read_events(path) == events
