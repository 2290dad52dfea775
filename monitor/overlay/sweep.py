"""The OCR acceptance sweep: simulated runs over seeds, JPEG qualities, noise and overlay variants, each
digitized and scored against its truth. `furnace-monitor evaluate-ocr --variants DIR` runs it."""

from dataclasses import dataclass
from pathlib import Path

from monitor.simulate import OverlayOptions, SimulationOptions
from monitor.simulate.overlay import FONT_CANDIDATES


@dataclass(frozen=True, slots=True)
class Variant:
    name: str
    group: str  # "camera" (seeds, JPEG, noise) or "overlay" (font, colours, offset, scale)
    options: SimulationOptions


def _run(seed: int, **changes: object) -> SimulationOptions:
    return SimulationOptions(seed=seed, **changes)  # type: ignore[arg-type]


VARIANTS: tuple[Variant, ...] = (
    Variant("seed1-q60-noise4", "camera", _run(1, jpeg_quality=60, noise_sigma=4.0)),
    Variant("seed2-q95-noise1", "camera", _run(2, jpeg_quality=95, noise_sigma=1.0)),
    Variant("seed3-q75-noise3", "camera", _run(3, jpeg_quality=75, noise_sigma=3.0)),
    Variant("font-microhei", "overlay", _run(4, overlay=OverlayOptions(font=FONT_CANDIDATES[1]))),
    Variant(
        "dark-on-light",
        "overlay",
        _run(5, overlay=OverlayOptions(foreground=(20, 20, 20), background=(235, 235, 235))),
    ),
    Variant("offset+3", "overlay", _run(6, overlay=OverlayOptions(offset=(3, 3)))),
    Variant("offset+6", "overlay", _run(7, overlay=OverlayOptions(offset=(6, 6)))),
    Variant("scale0.9", "overlay", _run(8, overlay=OverlayOptions(scale=0.9))),
    Variant("scale1.2", "overlay", _run(9, overlay=OverlayOptions(scale=1.2, offset=(3, 3)))),
)


def variant_dirs(out: Path) -> dict[str, Path]:
    return {v.name: out / v.name for v in VARIANTS}
