"""Everything a simulated run can be asked for."""

from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field, model_validator

from monitor.simulate.profile import FurnaceProfile


class OverlayOptions(BaseModel):
    """Look of the burned-in overlay (the OCR tests vary it)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    font: Path | None = Field(None, description="TrueType/TTC font with CJK glyphs; null = WenQuanYi.")
    offset: tuple[int, int] = Field((0, 0), description="x, y of the box's top-left corner, px.")
    scale: float = Field(1.0, ge=0.5, le=3.0, description="Size factor of box and text.")
    foreground: tuple[int, int, int] = Field((255, 255, 255), description="Text colour, RGB.")
    background: tuple[int, int, int] | None = Field(
        (0, 0, 0), description="Box colour, RGB; null = text drawn straight on the picture."
    )


class SimulationOptions(BaseModel):
    """A synthetic run: how long, which programme, how the camera and overlay behave, how files appear."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    seconds: int = Field(562, ge=1, le=100_000, description="Frames to write, one per second.")
    start: int = Field(110, ge=0, le=99_999, description="Run time of the first frame, s.")
    seed: int = Field(0, ge=0, description="Same seed and options = byte-identical frames and truth.")
    profile: FurnaceProfile = Field(default_factory=FurnaceProfile)
    width: int = Field(1024, ge=320, le=4096, description="Frame width, px.")
    height: int = Field(768, ge=240, le=3072, description="Frame height, px.")
    jpeg_quality: int = Field(90, ge=10, le=100, description="JPEG quality of the frames.")
    noise_sigma: float = Field(
        2.0, ge=0, le=40, description="Camera noise, standard deviation in grey levels."
    )
    overlay: OverlayOptions = Field(default_factory=OverlayOptions)
    realtime: bool = Field(False, description="Pace the frames in real time, for a watcher.")
    fps: float = Field(1.0, gt=0, le=1000, description="Frames per second when realtime.")
    slow_writes: bool = Field(False, description="Write each frame in place in chunks (half-written files).")
    workers: int = Field(0, ge=0, le=64, description="Render processes; 0 = one per core.")

    @model_validator(mode="after")
    def _fits(self) -> "SimulationOptions":
        if self.start + self.seconds > 10_000:
            raise ValueError("runs are limited to 9999 s (frames are named by a 4-digit second)")
        x, y = self.overlay.offset
        if x + 101 * self.overlay.scale > self.width or y + 55 * self.overlay.scale > self.height:
            raise ValueError("the overlay box does not fit in the frame")
        return self

    @classmethod
    def from_yaml(cls, path: Path, **overrides: object) -> "SimulationOptions":
        import yaml

        data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
        return cls.model_validate({**data, **overrides})
