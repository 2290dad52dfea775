"""Simulated frames as another rig's camera would record them, for the sample locator's tests.

The simulator's scene is rendered small, then moved and scaled with cv2.warpAffine (the camera aimed
differently), optionally blurred, made noisier and given another gain and white balance; the overlay is
painted last, where the recorder puts it (top-left), whatever the camera did.
"""

from dataclasses import dataclass

import cv2
import numpy as np

from monitor.config.overlay import Box
from monitor.simulate.options import SimulationOptions
from monitor.simulate.overlay import OverlayPainter, OverlayStyle, overlay_lines
from monitor.simulate.run import PlannedFrame, plan_run
from monitor.simulate.scene import SceneRenderer

# The sample in the simulator's scene, as shares of the frame: an ellipse centred at (0.5 w, 0.55 h) with
# half-axes 0.125 w and 0.085 h (monitor/simulate/scene.py).
CENTRE = (0.5, 0.55)
HALF_AXES = (0.125, 0.085)


@dataclass(frozen=True, slots=True)
class Camera:
    """How the test camera differs from the simulator's."""

    width: int = 320
    height: int = 240
    shift: tuple[float, float] = (0.0, 0.0)  # scene offset, shares of the frame (x, y)
    zoom: float = 1.0  # scene scale about the frame centre
    blur_sigma: float = 0.0  # px of this frame
    noise_sigma: float = 2.0  # grey levels
    gain: tuple[float, float, float] = (1.0, 1.0, 1.0)  # B, G, R multipliers (gain and white balance)
    overlay_scale: float = 1.0


@dataclass(frozen=True, slots=True)
class Scene:
    frames: list[np.ndarray]  # BGR uint8, in time order
    times: list[int]
    truth: Box  # the sample's bounding box in these frames


def _affine(camera: Camera) -> np.ndarray:
    """Scale by zoom about the frame centre, then shift."""
    w, h = camera.width, camera.height
    z = camera.zoom
    tx = (1 - z) * w / 2 + camera.shift[0] * w
    ty = (1 - z) * h / 2 + camera.shift[1] * h
    return np.array([[z, 0, tx], [0, z, ty]], dtype=np.float32)


def true_box(camera: Camera) -> Box:
    """The bounding box of the sample ellipse after the camera's warp."""
    w, h = camera.width, camera.height
    m = _affine(camera)
    cx, cy = m @ np.array([CENTRE[0] * w, CENTRE[1] * h, 1.0])
    ax, ay = HALF_AXES[0] * w * camera.zoom, HALF_AXES[1] * h * camera.zoom
    x0, y0 = max(0, round(cx - ax)), max(0, round(cy - ay))
    return Box(x=x0, y=y0, width=round(min(w, cx + ax)) - x0, height=round(min(h, cy + ay)) - y0)


def render(camera: Camera, times: list[int], *, seed: int = 0) -> Scene:
    """Frames of a simulated run at `times` (run seconds; the run starts at 110 s), seen by `camera`."""
    options = SimulationOptions(width=camera.width, height=camera.height, seed=seed, workers=1)
    _, planned = plan_run(options)
    by_time: dict[int, PlannedFrame] = {f.time_s: f for f in planned}
    scene = SceneRenderer(width=camera.width, height=camera.height, seed=seed)
    painter = OverlayPainter(OverlayStyle(scale=camera.overlay_scale))
    m = _affine(camera)
    noise_rng = np.random.default_rng([seed, 77])
    frames = []
    for t in times:
        frame = by_time[t]
        image = scene.render(frame.state, np.random.default_rng([seed, 4, t])).astype(np.float32)
        image = cv2.warpAffine(
            image, m, (camera.width, camera.height), flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_REFLECT
        )
        if camera.blur_sigma > 0:
            image = cv2.GaussianBlur(image, (0, 0), camera.blur_sigma)
        image = image * np.asarray(camera.gain, np.float32)
        image += noise_rng.normal(0.0, camera.noise_sigma, image.shape).astype(np.float32)
        out = np.clip(image, 0, 255).astype(np.uint8)
        painter.paint(out, overlay_lines(frame.time_s, frame.t1_c, frame.t2_c))
        frames.append(out)
    return Scene(frames=frames, times=list(times), truth=true_box(camera))


def iou(a: Box, b: Box) -> float:
    ix = max(0, min(a.x + a.width, b.x + b.width) - max(a.x, b.x))
    iy = max(0, min(a.y + a.height, b.y + b.height) - max(a.y, b.y))
    inter = ix * iy
    return inter / float(a.width * a.height + b.width * b.height - inter)
