"""The ResNet18 regressor: 1# temperature and crystallization progress from the picture alone (the frame's
`progress_pct` is the pipeline's, which takes this reading only where the run's history cannot tell:
analytics/progress.py)."""

from collections.abc import Sequence

import numpy as np
import torch

from monitor.config.analytics import AnalyticsConfig
from monitor.config.models import ModelsConfig
from monitor.config.overlay import Box
from monitor.nets.inference import LoadedModel, load_head_model
from monitor.nets.regressor import decode_outputs
from monitor.predictions import HeadOutput, HeadSpec, OutputField

# flat: these two sat at the top of the frame JSON before there were heads, and stay there
SPEC = HeadSpec(
    "temperature_progress",
    fields=(OutputField("t1_image_c", digits=1), OutputField("progress_image_pct", digits=2)),
    flat=True,
)


class RegressorHead:
    spec = SPEC

    def __init__(self, model: LoadedModel) -> None:
        self.model = model

    def predict(
        self, images: Sequence[np.ndarray], *, names: Sequence[tuple[str, str]] = (), box: Box | None = None
    ) -> list[HeadOutput]:
        out = self.model.engine(self.model.inputs(images))
        t1, progress = decode_outputs(torch.from_numpy(out), self.model.manifest.targets)
        return [SPEC.output(float(a), float(b)) for a, b in zip(t1, progress, strict=True)]


def build_head(models: ModelsConfig, analytics: AnalyticsConfig) -> RegressorHead:
    return RegressorHead(load_head_model(models, SPEC.name, "temperature_progress"))
