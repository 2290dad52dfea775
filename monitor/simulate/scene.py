"""The picture: chamber, two thermocouple wires and the sample between them, lit by the scene colour.

Static fields (wire mask, sample mask, textures, crystal growth order) are built once per run; a frame is
their blend for one physical state. Integer camera jitter is a crop of a slightly larger canvas. The result
is radiance in float (grey levels at gain 1, unclipped): the camera (camera.py) exposes and clips it.
"""

from dataclasses import dataclass

import cv2
import numpy as np

JITTER = 2  # px of margin around the visible frame, for camera shake
# When crystals nucleate the clear melt turns cloudy inside the sample: its highlight goes and it greys by
# this share (the rest of the scene is unchanged; a global change would look like an exposure step).
CLOUDY_GREY = 0.25


@dataclass(frozen=True, slots=True)
class FrameState:
    """Everything the picture of one frame depends on."""

    colour: np.ndarray  # scene colour, BGR 0..255
    t1_c: float
    melt: float  # 0..1 of the powder turned liquid
    clarity: float  # 0..1, turbid -> clear liquid
    fraction: float  # 0..1 crystalline
    nucleated: bool = False  # the melt has turned cloudy: no more clear highlight


def _smooth_noise(rng: np.random.Generator, shape: tuple[int, int], sigma: float) -> np.ndarray:
    """Gaussian-blurred white noise rescaled to 0..1 (blobs about sigma px across)."""
    field = cv2.GaussianBlur(rng.standard_normal(shape).astype(np.float32), (0, 0), sigma)
    lo, hi = np.percentile(field, [0.5, 99.5])
    return np.clip((field - lo) / (hi - lo + 1e-6), 0.0, 1.0)


def light_field(height: int, width: int) -> np.ndarray:
    """Light falls off from the hot zone at the sample; mean 1 keeps the frame mean on the scene colour."""
    cx, cy = width / 2.0, height * 0.55
    yy, xx = np.mgrid[0:height, 0:width].astype(np.float32)
    r2 = ((xx - cx) / (0.55 * width)) ** 2 + ((yy - cy) / (0.55 * height)) ** 2
    light = 0.45 + 0.9 * np.exp(-r2)
    return (light / light.mean()).astype(np.float32)


def _rank01(values: np.ndarray) -> np.ndarray:
    """Replace values by their quantile in 0..1 (so a threshold at q selects a share q of the pixels)."""
    order = np.argsort(values, kind="stable")
    ranks = np.empty(values.size, dtype=np.float32)
    ranks[order] = np.linspace(0.0, 1.0, values.size, dtype=np.float32)
    return ranks


class SceneRenderer:
    """Renders the furnace picture (without the overlay) for a frame state."""

    def __init__(self, *, width: int, height: int, seed: int) -> None:
        self.width, self.height = width, height
        rng = np.random.default_rng([seed, 0x5CE7E])
        h, w = height + 2 * JITTER, width + 2 * JITTER
        self._canvas_shape = (h, w)
        scale = width / 1024.0
        cx, cy = w / 2.0, h * 0.55
        yy, xx = np.mgrid[0:h, 0:w].astype(np.float32)
        self._light = light_field(h, w)

        self._wire = self._wire_mask(h, w, cx, cy, scale)
        ax, ay = 0.125 * w, 0.085 * h
        edge = _smooth_noise(rng, (h, w), 6 * scale) - 0.5
        ellipse = ((xx - cx) / ax) ** 2 + ((yy - cy) / ay) ** 2
        self._sample = np.clip((1.0 - ellipse + 0.35 * edge) * 4.0, 0.0, 1.0).astype(np.float32)
        y0, y1 = int(cy - 1.6 * ay), int(cy + 1.6 * ay)
        x0, x1 = int(cx - 1.6 * ax), int(cx + 1.6 * ax)
        self._box = (slice(max(y0, 0), min(y1, h)), slice(max(x0, 0), min(x1, w)))
        bh, bw = self._sample[self._box].shape

        grains = _smooth_noise(rng, (bh, bw), 1.2 * scale)
        self._powder = (0.7 + 0.6 * grains).astype(np.float32)
        self._melt_order = _smooth_noise(rng, (bh, bw), 10 * scale)
        bubbles = (_smooth_noise(rng, (bh, bw), 2.5 * scale) > 0.72).astype(np.float32)
        self._bubbles = cv2.GaussianBlur(bubbles, (0, 0), 1.0)
        by, bx = np.mgrid[0:bh, 0:bw].astype(np.float32)
        self._highlight = np.exp(
            -(((bx - 0.42 * bw) / (0.12 * bw)) ** 2 + ((by - 0.35 * bh) / (0.1 * bh)) ** 2)
        )
        self._crystal_order, self._crystal_texture = self._crystals(rng, self._sample[self._box] > 0.5, scale)

    def sample_box(self) -> tuple[int, int, int, int]:
        """Where the sample is in the frame (without shake): x, y, width, height."""
        ys, xs = np.nonzero(self._sample > 0.5)
        x0, y0 = int(xs.min()) - JITTER, int(ys.min()) - JITTER
        return x0, y0, int(xs.max()) - JITTER - x0 + 1, int(ys.max()) - JITTER - y0 + 1

    @classmethod
    def nominal_sample_box(cls, width: int, height: int, seed: int) -> tuple[int, int, int, int]:
        """sample_box() of the renderer a run of this size and seed uses."""
        return cls(width=width, height=height, seed=seed).sample_box()

    @staticmethod
    def _wire_mask(h: int, w: int, cx: float, cy: float, scale: float) -> np.ndarray:
        """Two thermocouple legs from below, each ending in a loop; the sample bridges the two tips."""
        mask = np.zeros((h, w), np.float32)
        thick = max(2, round(5 * scale))
        for side in (-1, 1):
            tip = (cx + side * 0.11 * w, cy)
            legs = [(tip[0] + side * 0.04 * w, h), (tip[0] + side * 0.01 * w, cy + 0.1 * h), tip]
            pts = np.array(legs, dtype=np.float32).round().astype(np.int32)
            cv2.polylines(mask, [pts], False, 1.0, thick, cv2.LINE_AA)
            centre = (round(tip[0]), round(tip[1]))
            cv2.circle(mask, centre, round(14 * scale), 1.0, thick, cv2.LINE_AA)
        return cv2.GaussianBlur(mask, (0, 0), 0.8)

    @staticmethod
    def _crystals(
        rng: np.random.Generator, sample: np.ndarray, scale: float
    ) -> tuple[np.ndarray, np.ndarray]:
        """Johnson-Mehl growth: nuclei appear over time inside the sample and grow at one speed; a pixel turns
        crystalline when the first grain reaches it. Ranking those times over the sample's pixels makes
        'crystalline share of the sample = X' a threshold."""
        bh, bw = sample.shape
        count = 60
        inside = np.argwhere(sample)
        ny, nx = inside[rng.integers(0, len(inside), count)].T.astype(np.float32)
        birth = rng.uniform(0, 1, count) ** 2 * 0.6 * max(bh, bw)
        yy, xx = np.mgrid[0:bh, 0:bw].astype(np.float32)
        arrival = np.full((bh, bw), np.inf, np.float32)
        grain = np.zeros((bh, bw), np.int32)
        for i in range(count):
            t = birth[i] + np.hypot(xx - nx[i], yy - ny[i])
            closer = t < arrival
            arrival[closer] = t[closer]
            grain[closer] = i
        order = np.ones((bh, bw), np.float32)
        order[sample] = _rank01(arrival[sample])
        shade = rng.uniform(0.75, 1.25, count).astype(np.float32)[grain]
        boundary = cv2.morphologyEx(grain.astype(np.float32), cv2.MORPH_GRADIENT, np.ones((3, 3))) > 0
        # Fine facets of fixed relative contrast: a crystal looks textured however bright the scene is.
        facets = 0.7 + 0.6 * _smooth_noise(rng, (bh, bw), 0.8 * scale)
        texture = shade * facets * np.where(boundary, 0.6, 1.0)
        return order, (texture / texture.mean()).astype(np.float32)

    def render(self, state: FrameState, rng: np.random.Generator) -> np.ndarray:
        """The radiance of one frame, BGR float32 (grey levels at gain 1, unclipped), width x height."""
        colour = np.asarray(state.colour, np.float32)
        img = self._light[..., None] * colour

        # The wire glows hotter than its surroundings; cold it is a dull grey-brown.
        heat = float(np.clip((state.t1_c - 700.0) / 600.0, 0.0, 1.0))
        wire_colour = colour * (1.0 + 0.5 * heat) + np.float32(30.0 * heat)
        img += self._wire[..., None] * (wire_colour - img)

        box = img[self._box]
        box += self._sample[self._box][..., None] * (self._sample_colour(state, colour) - box)

        dy, dx = rng.integers(-JITTER, JITTER + 1, 2)
        return img[JITTER + dy : JITTER + dy + self.height, JITTER + dx : JITTER + dx + self.width]

    def _sample_colour(self, state: FrameState, colour: np.ndarray) -> np.ndarray:
        """Colour of every pixel of the sample box: powder, turbid or clear liquid, crystals."""
        powder = self._powder[..., None] * colour
        liquid_colour = colour * np.float32(1.06)
        turbid = liquid_colour + (1.0 - state.clarity) * self._bubbles[..., None] * np.float32(40.0)
        shine = 0.0 if state.nucleated else state.clarity
        clear = shine * self._highlight[..., None] * np.float32(55.0)
        liquid = turbid + clear
        if state.nucleated:
            liquid = liquid + np.float32(CLOUDY_GREY) * (liquid.mean(axis=-1, keepdims=True) - liquid)
        grey = np.float32(0.5) * colour + np.float32(0.5) * (colour.mean() + 12.0)
        crystal = self._crystal_texture[..., None] * grey
        molten = (self._melt_order < state.melt)[..., None]
        out = np.where(molten, liquid, powder)
        if state.fraction > 0:
            crystalline = (self._crystal_order <= state.fraction)[..., None]
            out = np.where(crystalline, crystal, out)
        return out
