"""A camera frame turned into a network input and back: crop, blank the overlay, resize, the level and
the normalisation of the manifest. Inference and training both go through here, so they match."""

import logging

import cv2
import numpy as np
import torch

from monitor.nets.manifest import InputSpec, ModelError

log = logging.getLogger(__name__)


# Below this median grey (0..1) a frame is black, not dim: dividing by its level would only amplify noise.
LEVEL_FLOOR = 2.0 / 255.0


def blank_value(spec: InputSpec) -> int:
    """The grey the overlay is painted with. Under per-frame levels it is black: black times any gain is still
    black, so the painted box neither tells the network the camera's gain nor moves with it."""
    return 128 if spec.level == "absolute" else 0


def prepare(image_bgr: np.ndarray, spec: InputSpec) -> np.ndarray:
    """A decoded BGR frame -> the network's RGB uint8 picture (blanked overlay, view crop, resize)."""
    image = image_bgr
    if spec.blank:
        image = image.copy()
        for box in spec.blank:
            image[box.y : box.y + box.height, box.x : box.x + box.width] = blank_value(spec)
    if spec.view is not None:
        v = spec.view
        h, w = image.shape[:2]
        if v.x + v.width > w or v.y + v.height > h:
            raise ModelError(
                f"the model's view {v.width}x{v.height}+{v.x}+{v.y} does not fit a {w}x{h} frame"
            )
        image = image[v.y : v.y + v.height, v.x : v.x + v.width]
    image = cv2.resize(image, (spec.width, spec.height), interpolation=cv2.INTER_AREA)
    return cv2.cvtColor(image, cv2.COLOR_BGR2RGB)


def to_unit(batch: np.ndarray) -> torch.Tensor:
    """N x H x W x 3 uint8 RGB -> N x 3 x H x W float on 0..1."""
    return torch.from_numpy(np.ascontiguousarray(batch)).permute(0, 3, 1, 2).float().div_(255.0)


def frame_levels(x: torch.Tensor) -> torch.Tensor:
    """N x 3 x H x W on 0..1 -> N x 1 x 1 x 1: each frame's median grey (channel mean), floored.

    The median, not the mean: a glint or the glowing wire is a small bright area that moves the mean and not
    the median; and a gain g times every pixel is g times the median, so dividing by it cancels the gain."""
    grey = x.mean(dim=1).flatten(1)
    return grey.median(dim=1).values.clamp(min=LEVEL_FLOOR).view(-1, 1, 1, 1)


def at_level(x: torch.Tensor, spec: InputSpec) -> torch.Tensor:
    """0..1 frames as the spec's `level` wants them: unchanged, or each divided by its median grey."""
    return x if spec.level == "absolute" else x / frame_levels(x)


def normalise_frames(x: torch.Tensor, spec: InputSpec) -> torch.Tensor:
    """THE network input: N x 3 x H x W on 0..1 -> per-frame level (spec.level), then the manifest's channel
    mean and std. Training, evaluation and the runtime all come through here (to_tensor)."""
    x = at_level(x, spec)
    mean = torch.tensor(spec.mean, dtype=x.dtype).view(1, 3, 1, 1)
    std = torch.tensor(spec.std, dtype=x.dtype).view(1, 3, 1, 1)
    return (x - mean) / std


def to_tensor(batch: np.ndarray, spec: InputSpec) -> torch.Tensor:
    """N x H x W x 3 uint8 RGB -> N x 3 x H x W float network input (normalise_frames)."""
    return normalise_frames(to_unit(batch), spec)


def from_tensor(x: torch.Tensor, spec: InputSpec) -> np.ndarray:
    """The inverse of to_tensor: N x 3 x H x W normalised -> N x H x W x 3 uint8 RGB. Only for absolute levels
    (the forecast's): a frame divided by its own level cannot be put back without it."""
    if spec.level != "absolute":
        raise ValueError(f"from_tensor needs absolute levels, the spec has {spec.level!r}")
    mean = torch.tensor(spec.mean, dtype=x.dtype, device=x.device).view(1, 3, 1, 1)
    std = torch.tensor(spec.std, dtype=x.dtype, device=x.device).view(1, 3, 1, 1)
    rgb = (x * std + mean).clamp(0, 1).mul(255.0).round().byte()
    return rgb.permute(0, 2, 3, 1).cpu().numpy()
