"""The neural stages: image -> temperature, image -> progress, frame forecast."""

from pathlib import Path
from typing import Literal

from pydantic import Field

from monitor.config.base import Section


class ModelsConfig(Section):
    enabled: bool = Field(False, description="Run the neural stages in the pipeline.")
    dir: Path = Field(
        Path("models"),
        description="Folder holding the trained models: temperature_progress/ and forecast/ (see `train`).",
    )
    temperature_progress: bool = Field(
        True, description="Run the image -> 1# temperature and progress model (when enabled)."
    )
    forecast: bool = Field(True, description="Run the frame forecast model (when enabled).")
    device: Literal["auto", "cpu", "cuda"] = Field(
        "auto", description="auto = CUDA when present, else the CPU."
    )
    backend: Literal["auto", "torch", "onnx"] = Field(
        "auto",
        description="Inference engine on the CPU: torch, onnx (onnxruntime on an exported copy), "
        "auto = the one `furnace-monitor bench` measured faster here (onnx); CUDA always uses torch.",
    )
    threads: int | None = Field(
        None, ge=1, le=256, description="CPU threads for inference; null = the engine's default."
    )
    forecast_horizon_s: float = Field(
        10.0, gt=0, le=600, description="How far ahead the forecast frame is generated, seconds."
    )
    forecast_images: Path | None = Field(
        None, description="Folder where every forecast frame is saved as <run>/<file>; null = not saved."
    )
