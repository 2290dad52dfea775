"""The neural stages: image -> temperature, image -> progress, frame forecast."""

from pathlib import Path
from typing import Literal

from pydantic import Field

from monitor.config.base import Section


class ModelsConfig(Section):
    enabled: bool = Field(False, description="Run the neural stages in the pipeline.")
    dir: Path = Field(Path("models"), description="Folder holding one sub-folder per trained model.")
    device: Literal["auto", "cpu", "cuda"] = Field(
        "auto", description="auto = CUDA when present, else the CPU."
    )
    forecast_horizon_s: float = Field(
        10.0, gt=0, le=600, description="How far ahead the forecast frame is generated, seconds."
    )
