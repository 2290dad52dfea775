"""The recorder's burned-in text overlay: time, 1# and 2# temperatures in a small box at the top-left."""

from dataclasses import dataclass
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw, ImageFont

# Fonts with the CJK glyphs (丝, ℃) the real overlay uses; Debian's fonts-wqy-zenhei / fonts-wqy-microhei.
FONT_CANDIDATES = (
    Path("/usr/share/fonts/truetype/wqy/wqy-zenhei.ttc"),
    Path("/usr/share/fonts/truetype/wqy/wqy-microhei.ttc"),
)


def default_font() -> Path:
    """The first installed CJK font; a clear error names the packages that bring one."""
    for path in FONT_CANDIDATES:
        if path.exists():
            return path
    names = ", ".join(str(p) for p in FONT_CANDIDATES)
    raise FileNotFoundError(f"no CJK font found (looked for {names}); install fonts-wqy-zenhei")


def overlay_lines(time_s: int, t1_c: int, t2_c: int) -> tuple[str, str, str]:
    """The three overlay lines exactly as shown: time between two marks, then 1#丝 and 2#丝 readings."""
    return f"[{time_s}]", f"1#丝{t1_c}℃", f"2#丝{t2_c}℃"


@dataclass(frozen=True, slots=True)
class OverlayStyle:
    """How the overlay looks; the OCR tests vary all of it."""

    font: Path | None = None  # None = default_font()
    size_px: int = 16
    line_px: int = 18
    box_width: int = 101
    box_height: int = 55
    offset: tuple[int, int] = (0, 0)  # x, y of the box's top-left corner
    scale: float = 1.0
    foreground: tuple[int, int, int] = (255, 255, 255)  # RGB
    background: tuple[int, int, int] | None = (0, 0, 0)  # RGB; None = text straight on the picture

    def box(self) -> tuple[int, int, int, int]:
        """The overlay box in frame pixels: x, y, width, height."""
        w, h = round(self.box_width * self.scale), round(self.box_height * self.scale)
        return self.offset[0], self.offset[1], w, h


class OverlayPainter:
    """Burns the overlay into frames; the font is loaded once."""

    def __init__(self, style: OverlayStyle) -> None:
        self.style = style
        self._font = ImageFont.truetype(
            str(style.font or default_font()), max(6, round(style.size_px * style.scale))
        )

    def paint(self, frame_bgr: np.ndarray, lines: tuple[str, str, str]) -> None:
        """Draw the three lines into a BGR frame, in place."""
        style = self.style
        x, y, w, h = style.box()
        h = min(h, frame_bgr.shape[0] - y)
        w = min(w, frame_bgr.shape[1] - x)
        region = frame_bgr[y : y + h, x : x + w]
        if style.background is None:
            canvas = Image.fromarray(np.ascontiguousarray(region[..., ::-1]))
        else:
            canvas = Image.new("RGB", (w, h), style.background)
        draw = ImageDraw.Draw(canvas)
        pitch = style.line_px * style.scale
        for i, text in enumerate(lines):
            draw.text(
                (round(2 * style.scale), round(1 + i * pitch)), text, font=self._font, fill=style.foreground
            )
        region[...] = np.asarray(canvas)[..., ::-1]
