"""Ink finding on line crops: light-on-dark, dark-on-light and text drawn straight on the picture."""

from dataclasses import dataclass

import cv2
import numpy as np
import pytest
from PIL import Image, ImageDraw, ImageFont

from monitor.overlay.ink import binarise, ink_bounds, trim_to_ink

FONT_PATH = "/usr/share/fonts/truetype/wqy/wqy-zenhei.ttc"
CROP_SIZE = (130, 20)  # width, height: much wider than any line drawn here
ORIGIN = (2, 1)  # where the text is drawn, left side of the crop
TOLERANCE = 2  # px

# (background, text) as BGR, as the frames are
POLARITIES = {
    "white-on-black": ((0, 0, 0), (255, 255, 255)),
    "black-on-white": ((255, 255, 255), (0, 0, 0)),
    "white-on-orange": ((0, 95, 172), (255, 255, 255)),
    "black-on-orange": ((0, 95, 172), (0, 0, 0)),
}
TEXTS = ["[548]", "1#丝951℃", "2#丝1145℃"]


@dataclass(frozen=True)
class Line:
    crop: np.ndarray  # BGR uint8
    bbox: tuple[int, int, int, int]  # where PIL drew the text: x0, y0, x1, y1


@pytest.fixture(scope="module")
def font() -> ImageFont.FreeTypeFont:
    return ImageFont.truetype(FONT_PATH, 16)


def _rgb(bgr: tuple[int, int, int]) -> tuple[int, int, int]:
    return bgr[2], bgr[1], bgr[0]


def render(font: ImageFont.FreeTypeFont, text: str, background: tuple, ink: tuple) -> Line:
    image = Image.new("RGB", CROP_SIZE, _rgb(background))
    draw = ImageDraw.Draw(image)
    draw.text(ORIGIN, text, font=font, fill=_rgb(ink))
    bbox = draw.textbbox(ORIGIN, text, font=font)
    crop = np.ascontiguousarray(np.asarray(image)[:, :, ::-1])
    return Line(crop=crop, bbox=(int(bbox[0]), int(bbox[1]), int(bbox[2]), int(bbox[3])))


@pytest.fixture(params=list(POLARITIES), ids=list(POLARITIES))
def polarity(request: pytest.FixtureRequest) -> tuple:
    return POLARITIES[request.param]


@pytest.fixture(params=TEXTS, ids=["time", "t1", "t2"])
def line(request: pytest.FixtureRequest, font: ImageFont.FreeTypeFont, polarity: tuple) -> Line:
    background, ink = polarity
    return render(font, request.param, background, ink)


def test_rendered_line_is_at_the_left_of_a_much_wider_crop(line: Line) -> None:
    assert line.crop.shape == (CROP_SIZE[1], CROP_SIZE[0], 3)
    assert line.crop.dtype == np.uint8
    assert line.bbox[2] < 0.75 * CROP_SIZE[0]


def test_ink_bounds_match_where_the_text_was_drawn(line: Line) -> None:
    bounds = ink_bounds(line.crop)
    assert bounds is not None
    for found, drawn in zip(bounds, line.bbox, strict=True):
        assert abs(found - drawn) <= TOLERANCE, (bounds, line.bbox)


def test_ink_bounds_work_on_a_grey_crop(line: Line) -> None:
    grey = cv2.cvtColor(line.crop, cv2.COLOR_BGR2GRAY)
    assert ink_bounds(grey) == ink_bounds(line.crop)


def test_trim_to_ink_keeps_the_whole_text_and_drops_the_empty_width(line: Line) -> None:
    trimmed = trim_to_ink(line.crop)
    height, width = trimmed.shape[:2]
    text_width = line.bbox[2] - line.bbox[0]
    assert width < CROP_SIZE[0] - 30
    assert text_width <= width <= text_width + 2 * 3 + 2 * TOLERANCE
    assert height <= CROP_SIZE[1]
    # it is a view of the crop, cut at the ink plus a small margin
    assert np.shares_memory(trimmed, line.crop)
    bounds = ink_bounds(line.crop)
    assert bounds is not None
    x0 = max(bounds[0] - 3, 0)
    y0 = max(bounds[1] - 3, 0)
    assert np.array_equal(trimmed, line.crop[y0 : y0 + height, x0 : x0 + width])
    # nothing but background is left outside the trimmed area
    background = line.crop[0, -1]
    outside = line.crop[:, x0 + width :]
    assert (outside == background).all()


def test_binarise_gives_dark_strokes_on_white(line: Line) -> None:
    text = binarise(line.crop)
    assert text.dtype == np.uint8
    assert text.ndim == 3 and text.shape[2] == 3
    assert (text[:, :, 0] == text[:, :, 1]).all() and (text[:, :, 1] == text[:, :, 2]).all()
    assert set(np.unique(text)) <= {0, 255}
    white = (text == 255).all(axis=2).mean()
    dark = (text == 0).all(axis=2).mean()
    assert white > 0.7
    assert 0.03 < dark < 0.3
    # the border is white whatever the polarity
    assert (text[0] == 255).all() and (text[-1] == 255).all()
    assert (text[:, 0] == 255).all() and (text[:, -1] == 255).all()


def test_binarise_upscales_the_trimmed_line(line: Line) -> None:
    trimmed = trim_to_ink(line.crop)
    text = binarise(line.crop, scale=2.0)
    assert text.shape[:2] == (2 * trimmed.shape[0] + 8, 2 * trimmed.shape[1] + 8)
    assert binarise(line.crop, scale=3.0).shape[1] > text.shape[1]


def test_binarise_is_the_same_for_both_polarities(font: ImageFont.FreeTypeFont) -> None:
    light = binarise(render(font, "1#丝951℃", (0, 0, 0), (255, 255, 255)).crop)
    dark = binarise(render(font, "1#丝951℃", (255, 255, 255), (0, 0, 0)).crop)
    assert light.shape == dark.shape
    assert (light != dark).any(axis=2).mean() < 0.02


def test_ink_bounds_on_a_noisy_orange_picture(font: ImageFont.FreeTypeFont) -> None:
    line = render(font, "1#丝951℃", (0, 95, 172), (255, 255, 255))
    rng = np.random.default_rng(0)
    noisy = np.clip(line.crop.astype(np.int16) + rng.normal(0, 4, line.crop.shape), 0, 255).astype(np.uint8)
    bounds = ink_bounds(noisy)
    assert bounds is not None
    for found, drawn in zip(bounds, line.bbox, strict=True):
        assert abs(found - drawn) <= TOLERANCE


@pytest.mark.parametrize(
    "colour",
    [(0, 0, 0), (255, 255, 255), (0, 95, 172), (70, 115, 118)],
    ids=["black", "white", "orange", "grey"],
)
def test_blank_crop_has_no_ink(colour: tuple[int, int, int]) -> None:
    crop = np.full((CROP_SIZE[1], CROP_SIZE[0], 3), colour, np.uint8)
    assert ink_bounds(crop) is None
    assert trim_to_ink(crop) is crop
