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
        5,
        ge=1,
        le=30,
        description="A step must hold this many frames before it is a transition (at least 5: longer than a"
        " glint lasts, so fewer act as 5).",
    )
    downscale: int = Field(
        4, ge=1, le=32, description="Features are computed on a copy shrunk by this factor per side."
    )
    sample_roi: Box | None = Field(
        None,
        description="Box around the sample (px); its texture tells liquid from crystals. "
        "null = located per run from the frames (the simulator's camera: x=370 y=345 285x155).",
    )
    liquidus_c: float | None = Field(
        None,
        gt=0,
        le=2000,
        description="The flux's liquidus, degC (from its datasheet): on a run that did not show fully_molten"
        " (a recording begun late), crystallization_start is reported only below it. A run that shows"
        " fully_molten is held to its own 1# there. null = without fully_molten, no crystallization.",
    )
    probe_points: list[ProbePoint] | None = Field(
        None,
        description="Pixels whose RGB is followed; null = two points inside the sample box, where "
        "(512, 422) and (470, 430) sit in the simulator's box.",
    )
