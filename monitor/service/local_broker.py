"""A private Mosquitto for the demo: started on a free loopback port, stopped afterwards."""

import shutil
import socket
import subprocess
import tempfile
import time
from pathlib import Path


class LocalBroker:
    host = "127.0.0.1"

    def __init__(self) -> None:
        binary = shutil.which("mosquitto") or (
            "/usr/sbin/mosquitto" if Path("/usr/sbin/mosquitto").exists() else None
        )
        if binary is None:
            raise FileNotFoundError("mosquitto is not installed (apt-get install mosquitto)")
        with socket.socket() as s:
            s.bind((self.host, 0))
            self.port = int(s.getsockname()[1])
        self._dir = tempfile.TemporaryDirectory(prefix="furnace-broker-")
        conf = Path(self._dir.name) / "mosquitto.conf"
        # As root mosquitto would drop to its own user, which cannot read this private folder.
        conf.write_text(
            f"listener {self.port} {self.host}\nallow_anonymous true\nuser root\n", encoding="utf-8"
        )
        self._process = subprocess.Popen(
            [binary, "-c", str(conf)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
        )

    @property
    def pid(self) -> int:
        return self._process.pid

    def wait_ready(self, timeout_s: float = 10.0) -> None:
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            try:
                with socket.create_connection((self.host, self.port), timeout=0.5):
                    return
            except OSError:
                time.sleep(0.1)
        raise TimeoutError(f"mosquitto did not start on port {self.port}")

    def stop(self) -> None:
        self._process.terminate()
        self._process.wait(timeout=10)
        self._dir.cleanup()
