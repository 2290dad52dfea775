"""The camera between the scene and the recorder: exposure, lens, sensor.

The scene renders radiance (grey levels at gain 1, unclipped). The camera multiplies it by the exposure gain,
white balance, flicker and glints, sees it through its lens (aim, scale, blur), adds sensor noise and
clips, as a real sensor saturates. The recorder's overlay is painted afterwards.

Everything sequential (the auto exposure's state, glint timing, dropped seconds) is planned up front from a
predicted frame mean, so workers can render frames in any order and a seed gives the same bytes.
"""

from dataclasses import dataclass

import cv2
import numpy as np

from monitor.simulate.options import CameraOptions
from monitor.simulate.scene import light_field

NOISE_MARGIN = 48
LIGHT_LEVELS = 64  # quantiles of the light field the mean predictor integrates over


@dataclass(frozen=True, slots=True)
class CameraFrame:
    """The camera's state for one frame."""

    gain: float  # exposure gain: base gain x auto exposure
    glint: float = 1.0  # brightness factor of a glint; 1 = none
    flicker: float = 1.0  # brightness factor of the frame-to-frame jitter
    exposure_step: bool = False  # the gain changed since the previous written frame

    @property
    def glinting(self) -> bool:
        return self.glint != 1.0


class MeanPredictor:
    """Predicts the whole-frame mean for a scene colour and a gain: the scene colour over the light field's
    quantiles, clipped as the sensor clips (so a saturated red channel stops adding)."""

    def __init__(self, *, width: int, height: int, white_balance: tuple[float, float, float]) -> None:
        light = light_field(height, width)
        self._levels = np.quantile(light, (np.arange(LIGHT_LEVELS) + 0.5) / LIGHT_LEVELS)[:, None]
        self._balance = np.asarray(white_balance, dtype=float)

    def mean(self, colour: np.ndarray, gain: float) -> float:
        return float(np.clip(self._levels * (colour * self._balance * gain), 0.0, 255.0).mean())

    def gain_for(self, colour: np.ndarray, target: float, low: float, high: float) -> float:
        """The gain in [low, high] that brings the predicted mean closest to target (it rises with gain)."""
        lo, hi = np.log(low), np.log(high)
        for _ in range(30):
            mid = 0.5 * (lo + hi)
            if self.mean(colour, float(np.exp(mid))) < target:
                lo = mid
            else:
                hi = mid
        return float(np.exp(0.5 * (lo + hi)))


def plan_gains(options: CameraOptions, colours: np.ndarray, predictor: MeanPredictor, rng) -> np.ndarray:
    """The exposure gain of every frame. Auto exposure meters each frame; when its mean is outside
    [ae_low, ae_high] it picks the gain that would bring it to ae_target and ramps there over 1-4 frames
    (no new decision while ramping). Glints and flicker are too short for its metering to follow."""
    gains = np.empty(len(colours))
    gain = options.gain
    ramp: list[float] = []
    low, high = options.ae_gain_range
    for i, colour in enumerate(colours):
        if ramp:
            gain = ramp.pop(0)
        gains[i] = gain
        if options.exposure != "auto" or ramp:
            continue
        mean = predictor.mean(colour, gain)
        if options.ae_low <= mean <= options.ae_high:
            continue
        target = predictor.gain_for(colour, options.ae_target, low, high)
        if abs(np.log(target / gain)) < 1e-3:
            continue  # at its limit: nothing left to step
        frames = int(rng.integers(options.ae_settle_frames[0], options.ae_settle_frames[1] + 1))
        ramp = [float(gain * (target / gain) ** ((k + 1) / frames)) for k in range(frames)]
    return gains


def plan_glints(options: CameraOptions, count: int, rng: np.random.Generator) -> np.ndarray:
    """Brightness factor of every frame: 1, or a glint's factor for its 1-4 frames (a reflection flaring up
    or a puff of fume dimming the view; either way it returns)."""
    factors = np.ones(count)
    starts = np.flatnonzero(rng.random(count) < options.glint_rate)
    for start in starts:
        length = int(rng.integers(options.glint_frames[0], options.glint_frames[1] + 1))
        size = float(rng.uniform(*options.glint_size))
        factor = 1.0 + size if rng.random() < 0.5 else 1.0 / (1.0 + size)
        factors[start : start + length] = factor
    return factors


def plan_dropped(options: CameraOptions, times: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """True for each second the recorder skips."""
    return (rng.random(len(times)) < options.dropped_rate) | np.isin(times, options.dropped_seconds)


def plan_camera(
    options: CameraOptions, colours: np.ndarray, predictor: MeanPredictor, seed: int
) -> list[CameraFrame]:
    """The camera state of every frame (before any is dropped)."""
    gains = plan_gains(options, colours, predictor, np.random.default_rng([seed, 5]))
    glints = plan_glints(options, len(colours), np.random.default_rng([seed, 6]))
    flicker = 1.0 + options.flicker * np.random.default_rng([seed, 7]).uniform(-1.0, 1.0, len(colours))
    return [
        CameraFrame(gain=float(gains[i]), glint=float(glints[i]), flicker=float(flicker[i]))
        for i in range(len(colours))
    ]


def aim_matrix(options: CameraOptions, width: int, height: int) -> np.ndarray:
    """Affine map from the scene to the frame: scale about the frame centre, then shift by the offset."""
    s = options.scale
    cx, cy = (width - 1) / 2.0, (height - 1) / 2.0
    dx, dy = options.offset
    return np.array([[s, 0.0, (1 - s) * cx + dx], [0.0, s, (1 - s) * cy + dy]], dtype=np.float64)


def aimed_box(
    box: tuple[int, int, int, int], options: CameraOptions, width: int, height: int
) -> tuple[int, int, int, int]:
    """A scene box (x, y, width, height) as it lands in the frame, cut to the frame."""
    m = aim_matrix(options, width, height)
    x, y, w, h = box
    x0, y0 = m[0, 0] * x + m[0, 2], m[1, 1] * y + m[1, 2]
    x1, y1 = x0 + m[0, 0] * w, y0 + m[1, 1] * h
    left, top = max(0, round(x0)), max(0, round(y0))
    right, bottom = min(width, round(x1)), min(height, round(y1))
    return left, top, max(0, right - left), max(0, bottom - top)


class Camera:
    """Exposes radiance into a uint8 BGR frame; one per worker (the noise bank is drawn once)."""

    def __init__(
        self, options: CameraOptions, *, width: int, height: int, noise_sigma: float, seed: int
    ) -> None:
        self.options = options
        self.width, self.height = width, height
        self.noise_sigma = noise_sigma
        rng = np.random.default_rng([seed, 0xCA3E7A])
        self._noise = rng.standard_normal((height + NOISE_MARGIN, width + NOISE_MARGIN, 3)).astype(np.float32)
        aimed = options.offset != (0, 0) or options.scale != 1.0
        self._aim = aim_matrix(options, width, height) if aimed else None
        self._balance = np.asarray(options.white_balance, dtype=np.float32)

    def expose(self, radiance: np.ndarray, frame: CameraFrame, rng: np.random.Generator) -> np.ndarray:
        """The frame the sensor records for this radiance (BGR float32, frame size), as uint8."""
        image = radiance
        if self._aim is not None:
            # Another rig's aim: the chamber goes on beyond the scene's edges, so mirror it there.
            image = cv2.warpAffine(
                image, self._aim, (self.width, self.height), flags=cv2.INTER_LINEAR,
                borderMode=cv2.BORDER_REFLECT_101,
            )  # fmt: skip
        if self.options.blur_sigma > 0:
            image = cv2.GaussianBlur(image, (0, 0), self.options.blur_sigma)
        image = image * (self._balance * np.float32(frame.gain * frame.glint * frame.flicker))
        if self.noise_sigma > 0:
            ny, nx = rng.integers(0, NOISE_MARGIN, 2)
            image += self.noise_sigma * self._noise[ny : ny + self.height, nx : nx + self.width]
        return np.clip(image, 0.0, 255.0).astype(np.uint8)
