"""The demo's stopwatch: milestones printed with the seconds since the demo started, once each, so anyone
can read the first MQTT message, the alert and the total off the console."""

import threading
import time


class Clock:
    def __init__(self) -> None:
        self.started = time.monotonic()
        self.marks: dict[str, float] = {}
        self._lock = threading.Lock()

    def elapsed(self) -> float:
        return time.monotonic() - self.started

    def mark(self, what: str) -> None:
        """Print `[  42 s] what` the first time `what` happens (the MQTT thread calls it too)."""
        with self._lock:
            if what in self.marks:
                return
            self.marks[what] = seconds = self.elapsed()
        print(f"[{seconds:4.0f} s] {what}", flush=True)
