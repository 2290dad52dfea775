"""Everything a simulated run can be asked for."""

from pathlib import Path
from typing import Literal

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


class CameraOptions(BaseModel):
    """The camera between the scene (physical radiance) and the recorder's overlay.

    Defaults are calibrated on the real run (shared/data/apmcm2022a, see docs/camera.md): an auto exposure
    that steps the gain up when the frame mean has fallen to ~70, settling in 1-4 frames, and a few glints.
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    exposure: Literal["fixed", "auto"] = Field(
        "auto",
        description="fixed = the gain never changes; auto = the gain steps to keep the frame mean in range.",
    )
    gain: float = Field(1.0, gt=0, le=64, description="Base gain (auto exposure starts from it).")
    white_balance: tuple[float, float, float] = Field(
        (1.0, 1.0, 1.0), description="Multipliers of the B, G, R channels, applied with the gain."
    )
    ae_low: float = Field(
        71.0,
        ge=1,
        le=254,
        description="Auto exposure steps the gain up when the frame mean falls below this.",
    )
    ae_high: float = Field(
        200.0,
        ge=1,
        le=255,
        description="Auto exposure steps the gain down when the frame mean rises above this.",
    )
    ae_target: float = Field(
        90.0, ge=1, le=254, description="Frame mean an exposure step aims for (between ae_low and ae_high)."
    )
    ae_settle_frames: tuple[int, int] = Field(
        (1, 4), description="Range of frames an exposure step takes to settle (drawn per step)."
    )
    ae_gain_range: tuple[float, float] = Field(
        (0.25, 64.0), description="Lowest and highest gain auto exposure may set."
    )
    glint_rate: float = Field(
        1 / 120,
        ge=0,
        le=1,
        description="Glints per second: short excursions of the whole picture that return.",
    )
    glint_size: tuple[float, float] = Field(
        (0.12, 0.3),
        description="Range of a glint's relative size (0.2 = +-20 % on the radiance; up or down at random).",
    )
    glint_frames: tuple[int, int] = Field((1, 4), description="Range of a glint's length, frames.")
    flicker: float = Field(
        0.003, ge=0, le=0.5, description="Relative frame-to-frame brightness jitter (0.04 = +-4 %)."
    )
    blur_sigma: float = Field(
        0.0, ge=0, le=20, description="A soft lens: Gaussian blur sigma, px (0 = sharp)."
    )
    dropped_rate: float = Field(
        0.0, ge=0, le=0.5, description="Share of seconds the recorder skips (no file is written), per seed."
    )
    dropped_seconds: tuple[int, ...] = Field(
        (), description="Run times (s) the recorder skips, besides the rate."
    )
    offset: tuple[int, int] = Field(
        (0, 0), description="dx, dy px: the scene moved in the frame (another rig's aim); the overlay stays."
    )
    scale: float = Field(
        1.0, ge=0.5, le=2.0, description="Scene magnification about the frame centre (another rig's lens)."
    )

    @model_validator(mode="after")
    def _consistent(self) -> "CameraOptions":
        if not self.ae_low < self.ae_target < self.ae_high:
            raise ValueError("need ae_low < ae_target < ae_high")
        for name in ("ae_settle_frames", "glint_frames", "glint_size", "ae_gain_range"):
            lo, hi = getattr(self, name)
            if not 0 < lo <= hi:
                raise ValueError(f"{name} must be a range 0 < low <= high")
        if any(w <= 0 for w in self.white_balance):
            raise ValueError("white_balance multipliers must be positive")
        return self


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
    camera: CameraOptions = Field(default_factory=CameraOptions)
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
