"""Overlay styles a rig's recorder might draw, and a painter that repaints a frame's overlay in one of them.

The sweep (`evaluate-ocr --variants`) repaints simulated frames with these styles; the reader never sees
this module. Latin fonts lack 丝 and ℃: the painter draws those glyphs from a CJK fallback font, as a
recorder's text renderer would.
"""

import random
from dataclasses import dataclass
from functools import cache
from pathlib import Path

import cv2
import numpy as np
from fontTools.ttLib import TTCollection, TTFont
from PIL import Image, ImageDraw, ImageFont

RGB = tuple[int, int, int]
FALLBACK_FONT = Path("/usr/share/fonts/truetype/wqy/wqy-zenhei.ttc")
# Where a style's box sits when its offset is (0, 0); offsets of +-5 px move it around this corner.
NOMINAL_CORNER = (5, 5)


@dataclass(frozen=True, slots=True)
class FontFace:
    """One face of a font file (.ttc files hold several; `family` picks it)."""

    name: str
    path: Path
    family: str | None = None


@dataclass(frozen=True, slots=True)
class Palette:
    name: str
    foreground: RGB
    background: RGB | None  # None = text drawn straight on the picture


@dataclass(frozen=True, slots=True)
class PaintStyle:
    """Everything that makes one overlay look different from another."""

    font: FontFace
    size_px: int
    offset: tuple[int, int]  # from NOMINAL_CORNER, px
    brackets: tuple[str, str]  # around the time
    separator: str  # between 'N#' and the number: the wire glyph, maybe with a colon
    unit: str
    palette: Palette
    jpeg_quality: int

    def lines(self, time_s: int, t1_c: int, t2_c: int) -> tuple[str, str, str]:
        left, right = self.brackets
        sep, unit = self.separator, self.unit
        return f"{left}{time_s}{right}", f"1#{sep}{t1_c}{unit}", f"2#{sep}{t2_c}{unit}"

    def describe(self) -> str:
        return (
            f"{self.font.name} {self.size_px}px {self.palette.name} {''.join(self.brackets)} "
            f"'{self.separator}' '{self.unit}' offset {self.offset} q{self.jpeg_quality}"
        )


_CJK_SERIF = "/usr/share/fonts/opentype/noto/NotoSerifCJK-Regular.ttc"
_CJK_SANS = "/usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc"
_CJK_SANS_BOLD = "/usr/share/fonts/opentype/noto/NotoSansCJK-Bold.ttc"
_DEJAVU = "/usr/share/fonts/truetype/dejavu"
_LIBERATION = "/usr/share/fonts/truetype/liberation2"
_FREE = "/usr/share/fonts/truetype/freefont"

# The font families the reader was tuned on ...
FONTS: dict[str, tuple[FontFace, ...]] = {
    "cjk-serif": (
        FontFace("noto-serif-cjk", Path(_CJK_SERIF), "Noto Serif CJK SC"),
        FontFace("ar-pl-uming", Path("/usr/share/fonts/truetype/arphic/uming.ttc"), "AR PL UMing CN"),
    ),
    "cjk-sans": (
        FontFace("noto-sans-cjk", Path(_CJK_SANS), "Noto Sans CJK SC"),
        FontFace("noto-sans-cjk-bold", Path(_CJK_SANS_BOLD), "Noto Sans CJK SC"),
        FontFace(
            "wqy-microhei", Path("/usr/share/fonts/truetype/wqy/wqy-microhei.ttc"), "WenQuanYi Micro Hei"
        ),
    ),
    "latin-sans": (
        FontFace("dejavu-sans", Path(f"{_DEJAVU}/DejaVuSans.ttf")),
        FontFace("liberation-sans", Path(f"{_LIBERATION}/LiberationSans-Regular.ttf")),
    ),
    "latin-bold": (
        FontFace("dejavu-sans-bold", Path(f"{_DEJAVU}/DejaVuSans-Bold.ttf")),
        FontFace("liberation-sans-bold", Path(f"{_LIBERATION}/LiberationSans-Bold.ttf")),
    ),
    "latin-mono": (
        FontFace("dejavu-sans-mono", Path(f"{_DEJAVU}/DejaVuSansMono.ttf")),
        FontFace("liberation-mono", Path(f"{_LIBERATION}/LiberationMono-Regular.ttf")),
    ),
}
# ... and the ones it was only judged on, never looked at while tuning it.
HELD_OUT_FONTS: tuple[FontFace, ...] = (
    FontFace("ar-pl-ukai", Path("/usr/share/fonts/truetype/arphic/ukai.ttc"), "AR PL UKai CN"),
    FontFace("noto-sans-mono-cjk", Path(_CJK_SANS), "Noto Sans Mono CJK SC"),
    FontFace("free-serif", Path(f"{_FREE}/FreeSerif.ttf")),
    FontFace("free-mono-bold", Path(f"{_FREE}/FreeMonoBold.ttf")),
    FontFace("liberation-serif", Path(f"{_LIBERATION}/LiberationSerif-Regular.ttf")),
    FontFace("dejavu-serif-bold", Path(f"{_DEJAVU}/DejaVuSerif-Bold.ttf")),
)

# A second held-out set, drawn up after the first one had been looked at (and had taught the grammar
# that FreeMono's '°C' reads as '0C'): judged once, never tuned on.
HELD_OUT_2_FONTS: tuple[FontFace, ...] = (
    FontFace(
        "noto-serif-cjk-bold",
        Path("/usr/share/fonts/opentype/noto/NotoSerifCJK-Bold.ttc"),
        "Noto Serif CJK SC",
    ),
    FontFace("free-sans", Path(f"{_FREE}/FreeSans.ttf")),
    FontFace("free-serif-bold", Path(f"{_FREE}/FreeSerifBold.ttf")),
    FontFace("dejavu-sans-mono-bold", Path(f"{_DEJAVU}/DejaVuSansMono-Bold.ttf")),
    FontFace("liberation-mono-bold", Path(f"{_LIBERATION}/LiberationMono-Bold.ttf")),
    FontFace("dejavu-serif", Path(f"{_DEJAVU}/DejaVuSerif.ttf")),
    FontFace("dejavu-sans-condensed-bold", Path(f"{_DEJAVU}/DejaVuSansCondensed-Bold.ttf")),
)

PALETTES: dict[str, tuple[Palette, ...]] = {
    "white-on-black": (Palette("white-on-black", (255, 255, 255), (0, 0, 0)),),
    "black-on-light": (
        Palette("black-on-light", (15, 15, 15), (235, 235, 235)),
        Palette("black-on-grey", (0, 0, 0), (200, 200, 190)),
    ),
    "colour-on-dark": (
        Palette("amber-on-brown", (255, 176, 0), (60, 30, 10)),
        Palette("green-on-dark", (80, 255, 80), (20, 30, 20)),
        Palette("cyan-on-navy", (120, 230, 255), (10, 20, 70)),
    ),
    "on-picture": (
        Palette("white-on-picture", (255, 255, 255), None),
        Palette("yellow-on-picture", (255, 240, 60), None),
    ),
}
HELD_OUT_PALETTES: tuple[Palette, ...] = (
    Palette("red-on-black", (255, 70, 50), (0, 0, 0)),
    Palette("navy-on-cream", (20, 30, 110), (245, 235, 200)),
    Palette("cyan-on-picture", (90, 255, 255), None),
)
HELD_OUT_2_PALETTES: tuple[Palette, ...] = (
    Palette("white-on-red", (255, 255, 255), (120, 0, 0)),
    Palette("black-on-yellow", (0, 0, 0), (250, 220, 60)),
    Palette("magenta-on-picture", (255, 90, 255), None),
    Palette("grey-on-black", (170, 170, 170), (0, 0, 0)),
)
HELD_OUT_2_BRACKETS: tuple[tuple[str, str], ...] = (("〔", "〕"), ("『", "』"), ("(", ")"))
BRACKETS: tuple[tuple[str, str], ...] = (("[", "]"), ("(", ")"), ("<", ">"), ("【", "】"))
HELD_OUT_BRACKETS: tuple[tuple[str, str], ...] = (("[", "]"), ("「", "」"), ("{", "}"))
SEPARATORS = ("丝", "丝:", "丝：")
UNITS = ("℃", "℃", "°C")


@dataclass(frozen=True, slots=True)
class StylePool:
    """What a variant class draws its styles from."""

    fonts: tuple[FontFace, ...]
    palettes: tuple[Palette, ...]
    brackets: tuple[tuple[str, str], ...] = BRACKETS
    separators: tuple[str, ...] = SEPARATORS
    units: tuple[str, ...] = UNITS
    sizes: tuple[int, int] = (13, 20)
    max_offset: int = 5
    jpeg: tuple[int, int] = (60, 95)

    def sample(self, rng: random.Random) -> PaintStyle:
        return PaintStyle(
            font=rng.choice(self.fonts),
            size_px=rng.randint(*self.sizes),
            offset=(
                rng.randint(-self.max_offset, self.max_offset),
                rng.randint(-self.max_offset, self.max_offset),
            ),
            brackets=rng.choice(self.brackets),
            separator=rng.choice(self.separators),
            unit=rng.choice(self.units),
            palette=rng.choice(self.palettes),
            jpeg_quality=rng.randint(*self.jpeg),
        )


def all_fonts() -> tuple[FontFace, ...]:
    return tuple(f for group in FONTS.values() for f in group)


def all_palettes() -> tuple[Palette, ...]:
    return tuple(p for group in PALETTES.values() for p in group)


@cache
def _face_index(path: Path, family: str | None) -> int:
    if family is None or path.suffix.lower() != ".ttc":
        return 0
    for i, face in enumerate(TTCollection(str(path)).fonts):
        if face["name"].getDebugName(1) == family:
            return i
    raise ValueError(f"{path} has no face {family!r}")


@cache
def _cmap(path: Path, index: int) -> frozenset[int]:
    font = TTFont(str(path), fontNumber=index, lazy=True)
    return frozenset(font.getBestCmap())


@cache
def _draws(path: Path, index: int, ch: str) -> bool:
    """The face maps the character to a glyph with ink (WenQuanYi Micro Hei maps ℃ to an empty one)."""
    if ord(ch) not in _cmap(path, index):
        return False
    return ch.isspace() or _font(path, index, 16).getmask(ch).getbbox() is not None


@cache
def _font(path: Path, index: int, size: int) -> ImageFont.FreeTypeFont:
    return ImageFont.truetype(str(path), size, index=index)


class OverlayRepainter:
    """Covers a frame's original overlay and draws the three lines in a given style."""

    # The simulator's own overlay (101x55 at the corner) is covered by the picture just below it.
    COVER = (0, 0, 112, 62)

    def paint(self, frame_bgr: np.ndarray, style: PaintStyle, lines: tuple[str, str, str]) -> np.ndarray:
        x0, y0, x1, y1 = self.COVER
        out = frame_bgr.copy()
        out[y0:y1, x0:x1] = frame_bgr[y1 : 2 * y1 - y0, x0:x1]
        index = _face_index(style.font.path, style.font.family)
        font = _font(style.font.path, index, style.size_px)
        fallback = _font(FALLBACK_FONT, 0, style.size_px)
        pitch = round(style.size_px * 1.15)
        x, y = NOMINAL_CORNER[0] + style.offset[0], NOMINAL_CORNER[1] + style.offset[1]
        pad = 2
        faces = [[font if _draws(style.font.path, index, ch) else fallback for ch in line] for line in lines]
        widths = [
            sum(f.getlength(ch) for f, ch in zip(fs, line, strict=True))
            for fs, line in zip(faces, lines, strict=True)
        ]
        w, h = round(max(widths)) + 2 * pad, pitch * 3 + pad
        region = out[y : y + h, x : x + w]
        if style.palette.background is None:
            canvas = Image.fromarray(np.ascontiguousarray(region[..., ::-1]))
        else:
            canvas = Image.new("RGB", (region.shape[1], region.shape[0]), style.palette.background)
        draw = ImageDraw.Draw(canvas)
        for i, (line, line_faces) in enumerate(zip(lines, faces, strict=True)):
            cx = float(pad)
            for ch, face in zip(line, line_faces, strict=True):
                draw.text((cx, 1 + i * pitch), ch, font=face, fill=style.palette.foreground)
                cx += face.getlength(ch)
        region[...] = np.asarray(canvas)[..., ::-1]
        return out


def encode_jpeg(frame_bgr: np.ndarray, quality: int) -> bytes:
    ok, data = cv2.imencode(".jpg", frame_bgr, [cv2.IMWRITE_JPEG_QUALITY, quality])
    if not ok:
        raise ValueError("JPEG encoding failed")
    return data.tobytes()
