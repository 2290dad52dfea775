"""What the figures were measured on: CPU, cores, memory, GPU, load, library versions."""

import os
import platform
from importlib import metadata
from pathlib import Path

PACKAGES = (
    "furnace-monitor", "torch", "torchvision", "onnxruntime", "paddlepaddle", "paddleocr",
    "opencv-contrib-python", "numpy", "paho-mqtt",
)  # fmt: skip


def cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text(encoding="utf-8").splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


def memory_mb() -> float | None:
    try:
        return round(os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**20)
    except (ValueError, OSError, AttributeError):
        return None


def load_average() -> list[float]:
    return [round(v, 2) for v in os.getloadavg()]


def has_gpu() -> bool:
    import torch

    return bool(torch.cuda.is_available())


def machine() -> dict[str, object]:
    return {
        "cpu_model": cpu_model(),
        "cores": os.cpu_count(),
        "usable_cores": len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count(),
        "memory_mb": memory_mb(),
        "gpu": has_gpu(),
        "platform": platform.platform(),
        "python": platform.python_version(),
    }


def versions() -> dict[str, str | None]:
    found: dict[str, str | None] = {}
    for name in PACKAGES:
        try:
            found[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            found[name] = None
    return found


def peak_rss_mb(pid: int | str = "self") -> float | None:
    """VmHWM (the high-water mark of resident memory) of a live process, MB; None where /proc has none."""
    return _status_mb(pid, "VmHWM")


def rss_mb(pid: int | str = "self") -> float | None:
    return _status_mb(pid, "VmRSS")


def _status_mb(pid: int | str, key: str) -> float | None:
    try:
        text = Path(f"/proc/{pid}/status").read_text(encoding="utf-8")
    except OSError:
        return None
    for line in text.splitlines():
        if line.startswith(f"{key}:"):
            return round(int(line.split()[1]) / 1024.0, 1)  # kB
    return None


def cpu_seconds(pid: int | str = "self") -> float | None:
    """User + system CPU time of a live process so far, s (from /proc/<pid>/stat)."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text(encoding="utf-8").rsplit(")", 1)[1].split()
    except (OSError, IndexError):
        return None
    ticks = os.sysconf("SC_CLK_TCK")
    return round((int(fields[11]) + int(fields[12])) / ticks, 2)  # utime, stime: fields 14, 15 of stat
