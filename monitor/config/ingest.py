"""Where frames come from and how the watcher decides a file is complete."""

from pathlib import Path

from pydantic import Field

from monitor.config.base import Section


class IngestConfig(Section):
    watch_dir: Path = Field(
        Path("/var/lib/furnace-monitor/frames"),
        description="Folder the camera writes into: one sub-folder per run, or a flat folder = one run.",
    )
    pattern: str = Field(
        "*",
        description="Glob of frame files, among the formats the loader reads (.jpg .jpeg .png .bmp .tif "
        ".tiff); anything else in the folder is ignored. '*' = every supported format.",
    )
    polling: bool = Field(
        False, description="Poll the folder instead of inotify (network shares, container bind mounts)."
    )
    poll_interval_s: float = Field(1.0, gt=0, le=60, description="Polling period when polling is on.")
    settle_s: float = Field(
        0.5, ge=0, le=30, description="A file whose size has not changed for this long counts as complete."
    )
    stall_timeout_s: float = Field(
        10.0, gt=0, le=3600, description="No new frame for this long while a run is active = stalled feed."
    )
    session_idle_s: float = Field(
        600.0,
        gt=0,
        le=86_400,
        description="A run with no frame for this long is retired from memory; a frame after that resumes "
        "it from its checkpoint (its processed frames are replayed, so the result is the same).",
    )
    queue_size: int = Field(64, ge=1, le=100_000, description="Frames waiting for processing, at most.")
    checkpoint_dir: Path = Field(
        Path("/var/lib/furnace-monitor/checkpoints"),
        description="Per-run checkpoints, so a restart resumes where it stopped.",
    )
