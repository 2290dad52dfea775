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
    max_pixels: int = Field(
        4096 * 4096,
        ge=64 * 64,
        le=400_000_000,
        description="A frame whose header declares more pixels is flagged 'too large' without being decoded "
        "(a decompression bomb). Default: a 16 MP camera.",
    )
    stray_gap_s: float = Field(
        60.0,
        gt=0,
        le=86_400,
        description="A frame named this far ahead of its run's last frame waits a moment: if earlier frames "
        "keep coming meanwhile, it is flagged as a stray from another run instead of processed.",
    )
    failures_not_ready: int = Field(
        5,
        ge=1,
        le=10_000,
        description="Frames failing in a row (unusable or a processing error) = not ready.",
    )
    checkpoint_dir: Path = Field(
        Path("/var/lib/furnace-monitor/checkpoints"),
        description="Per-run checkpoints, so a restart resumes where it stopped.",
    )
