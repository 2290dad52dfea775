"""The pix2pix forecast: the frame `horizon_s` ahead, summed up over the sample box (and saved, if asked)."""

import logging
from collections.abc import Sequence
from pathlib import Path

import cv2
import numpy as np
import torch

from monitor.analytics.locate import default_box
from monitor.config.analytics import AnalyticsConfig
from monitor.config.models import ModelsConfig
from monitor.config.overlay import Box
from monitor.nets.dataset import from_tensor
from monitor.nets.forecast import dt_scale_of, forecast_input, input_box
from monitor.nets.inference import LoadedModel, load_head_model
from monitor.predictions import Forecast, HeadOutput, HeadSpec, OutputField

log = logging.getLogger(__name__)

SPEC = HeadSpec(
    "forecast",
    fields=(OutputField("horizon_s"), OutputField("mean", digits=3), OutputField("change", digits=3)),
    image=True,
)


def forecast_output(forecast: Forecast) -> HeadOutput:
    return SPEC.output(forecast.horizon_s, forecast.mean, forecast.change, image=forecast.image)


class ForecastHead:
    spec = SPEC

    def __init__(
        self,
        model: LoadedModel,
        *,
        horizon_s: float,
        sample_roi: Box | None = None,
        images: Path | None = None,
    ) -> None:
        self.model = model
        self.horizon_s = horizon_s
        self.images = images  # where every forecast frame is saved as <run>/<file>; None = not saved
        self._configured_roi = sample_roi  # a configured analytics.sample_roi wins over the located box
        self._dt_scale = dt_scale_of(model.manifest)

    def region(self, box: Box) -> tuple[slice, slice]:
        """Where the summary numbers are taken: the box in the model's view (ModelError outside it)."""
        roi = input_box(Box(x=box.x, y=box.y, width=box.width, height=box.height), self.model.spec)
        return slice(roi.y, roi.y + roi.height), slice(roi.x, roi.x + roi.width)

    def predict(
        self, images: Sequence[np.ndarray], *, names: Sequence[tuple[str, str]] = (), box: Box | None = None
    ) -> list[HeadOutput]:
        x = torch.from_numpy(self.model.inputs(images))  # a frame of the wrong size fails here, clearly
        box = self._configured_roi or box
        if box is None:  # no box located yet: the default camera's, for this frame size
            h, w = images[0].shape[:2]
            box = default_box(w, h)
        rows, cols = self.region(box)
        out = self.model.engine(forecast_input(x, self.horizon_s, self._dt_scale).numpy())
        spec = self.model.spec
        now_rgb = from_tensor(x, spec)
        ahead_rgb = from_tensor(torch.from_numpy(out), spec)
        result = []
        for i in range(len(images)):
            ahead = ahead_rgb[i][rows, cols].astype(np.float32)
            now = now_rgb[i][rows, cols].astype(np.float32)
            saved = (
                self._save(ahead_rgb[i], *names[i]) if self.images is not None and i < len(names) else None
            )
            mean, change = float(ahead.mean()), float(np.abs(ahead - now).mean())
            result.append(SPEC.output(self.horizon_s, mean, change, image=saved))
        return result

    def _save(self, rgb: np.ndarray, run: str, file: str) -> str | None:
        assert self.images is not None
        path = self.images / run / file
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            tmp = path.with_name(f".{path.name}.tmp.jpg")
            cv2.imwrite(str(tmp), cv2.cvtColor(rgb, cv2.COLOR_RGB2BGR))
            tmp.replace(path)
        except OSError as exc:  # a full disk must not stop the numbers
            log.warning("forecast frame not saved to %s: %s", path, exc)
            return None
        return str(path)


def build_head(models: ModelsConfig, analytics: AnalyticsConfig) -> ForecastHead:
    return ForecastHead(
        load_head_model(models, SPEC.name, "forecast"),
        horizon_s=models.forecast_horizon_s,
        sample_roi=analytics.sample_roi,
        images=models.forecast_images,
    )
