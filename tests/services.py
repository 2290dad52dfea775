"""Helpers for tests that start real services (Mosquitto, InfluxDB) on loopback ports."""

import os
import shutil
import socket
from pathlib import Path

import pytest


def require_binary(path: Path, package: str) -> Path:
    """The program, else skip the test; on CI (where the Makefile installs it) a missing one fails."""
    found = path if path.is_file() and os.access(path, os.X_OK) else None
    found = found or (Path(p) if (p := shutil.which(path.name)) else None)
    if found is None:
        message = f"{path.name} is not installed (apt-get install {package})"
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail(message)
        pytest.skip(message)
    return found


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])
