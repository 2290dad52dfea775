"""Image features and the online stage detector."""

from pydantic import Field

from monitor.config.base import Section
from monitor.config.overlay import Box


class ProbePoint(Section):
    """A pixel whose colour is followed frame by frame (the reference paper used (803, 661))."""

    x: int = Field(..., ge=0, description="Column, px.")
    y: int = Field(..., ge=0, description="Row, px.")


class AnalyticsConfig(Section):
    confirm_frames: int = Field(
        3, ge=1, le=30, description="A stage transition is confirmed within at most this many frames."
    )
    downscale: int = Field(
        4, ge=1, le=32, description="Features are computed on a copy shrunk by this factor per side."
    )
    sample_roi: Box = Field(
        default_factory=lambda: Box(x=370, y=345, width=285, height=155),
        description="Box around the sample (px); its texture tells liquid from crystals.",
    )
    probe_points: list[ProbePoint] = Field(
        default_factory=lambda: [ProbePoint(x=512, y=422), ProbePoint(x=470, y=430)],
        description="Pixels whose RGB is followed (default: points in the sample region).",
    )
