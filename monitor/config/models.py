"""The neural stages: image -> temperature, image -> progress, frame forecast."""

from pathlib import Path
from typing import Literal

from pydantic import Field

from monitor.config.base import Section


class HeadSwitch(Section):
    enabled: bool = Field(True, description="Run this head (when models are enabled).")


# The first two heads have a switch of their own from before `models.heads`: both must be on for them to run.
_OLD_SWITCHES = ("temperature_progress", "forecast")


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
    heads: dict[str, HeadSwitch] = Field(
        default_factory=dict,
        description="Per-head switches by the head's name (its module in monitor/nets/heads/), "
        "e.g. {forecast: {enabled: false}}; a head not named here runs.",
    )
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

    def runs(self, head: str) -> bool:
        """Whether the head of that name runs (when `enabled`): its `heads` switch, and its old key."""
        switch = self.heads.get(head)
        old = bool(getattr(self, head)) if head in _OLD_SWITCHES else True
        return old and (switch is None or switch.enabled)
