"""Where the burned-in text overlay sits and how its text is read."""

from pathlib import Path
from typing import Literal

from pydantic import ConfigDict, Field, model_validator

from monitor.config.base import Section


class Box(Section):
    """A pixel rectangle of the camera frame: left, top, width, height. The one box type: the overlay and
    its lines, the sample box, and a model's crop and blanked regions."""

    model_config = ConfigDict(frozen=True)  # boxes are values: a model's input spec holds them

    x: int = Field(0, ge=0, description="Left edge, px.")
    y: int = Field(0, ge=0, description="Top edge, px.")
    width: int = Field(101, ge=8, le=4096, description="Width, px.")
    height: int = Field(55, ge=8, le=4096, description="Height, px.")


class OverlayConfig(Section):
    box: Box = Field(default_factory=Box, description="The overlay box (time, 1#, 2# lines) in the frame.")
    lines: list[Box] | None = Field(
        None,
        description="Fixed line boxes (time, 1#, 2#), frame pixels; null = found once per run by detection.",
    )
    frame_width: int | None = Field(None, ge=64, le=16384, description="Expected frame width; null = any.")
    frame_height: int | None = Field(None, ge=64, le=16384, description="Expected frame height; null = any.")

    @model_validator(mode="after")
    def _three_lines(self) -> "OverlayConfig":
        if self.lines is not None and len(self.lines) != 3:
            raise ValueError(f"lines must hold 3 boxes (time, 1#, 2#), got {len(self.lines)}")
        return self


class PlausibilityConfig(Section):
    t_min_c: float = Field(0.0, ge=-50, le=3000, description="Lowest plausible temperature, degC.")
    t_max_c: float = Field(1800.0, ge=0, le=3000, description="Highest plausible temperature, degC.")
    max_rate_c_per_s: float = Field(
        60.0, gt=0, le=10_000, description="Largest plausible change from the last accepted value, degC/s."
    )

    @model_validator(mode="after")
    def _ordered(self) -> "PlausibilityConfig":
        if self.t_min_c >= self.t_max_c:
            raise ValueError(f"t_min_c ({self.t_min_c}) must be below t_max_c ({self.t_max_c})")
        return self


class OcrConfig(Section):
    engine: Literal["onnxruntime", "paddle"] = Field(
        "onnxruntime", description="Recognition engine behind PaddleOCR's TextRecognition API."
    )
    rec_model_dir: Path | None = Field(
        None, description="Local recognition model folder; null = the one the installed package ships."
    )
    det_model_dir: Path | None = Field(
        None, description="Local detection model folder (finds the line boxes); null = the packaged one."
    )
    min_confidence: float = Field(
        0.8, ge=0, le=1, description="Reads below this are re-read once, then flagged."
    )
    plausibility: PlausibilityConfig = Field(default_factory=PlausibilityConfig)
