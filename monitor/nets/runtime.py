"""The model step of the pipeline: frames in, Predictions out, one output per loaded head (nets/heads/).

What every head shares is here: the run's sample box, batching, and catching a head that fails, so that
it costs only its own outputs, and only for the frames it failed on."""

import logging
import time
from collections.abc import Sequence

import numpy as np

from monitor.config.analytics import AnalyticsConfig
from monitor.config.models import ModelsConfig
from monitor.config.overlay import Box
from monitor.nets.heads import Head, build_heads
from monitor.nets.inference import LoadedModel
from monitor.nets.manifest import ModelError
from monitor.predictions import HeadOutput, Prediction

log = logging.getLogger(__name__)

# the first two heads' names, which are also their folders under models.dir
REGRESSOR_DIR = "temperature_progress"
FORECAST_DIR = "forecast"


class ModelStep:
    """Runs the loaded heads on a batch of decoded BGR frames."""

    def __init__(self, heads: Sequence[Head]) -> None:
        if not heads:
            raise ModelError("the model step needs at least one model")
        self.heads = tuple(heads)
        self._box: Box | None = None

    def head(self, name: str) -> Head:
        return next(h for h in self.heads if h.spec.name == name)

    def engines(self) -> dict[str, str]:
        """The engine each head runs on, for the heads that run a LoadedModel (as `model`)."""
        models = {h.spec.name: getattr(h, "model", None) for h in self.heads}
        return {name: m.engine.name for name, m in models.items() if isinstance(m, LoadedModel)}

    def set_sample_box(self, box: Box) -> None:
        """The sample box of the current run (located per run), for the heads that take numbers in it."""
        self._box = box

    def predict(
        self, images: Sequence[np.ndarray], *, names: Sequence[tuple[str, str]] = ()
    ) -> list[Prediction]:
        """One Prediction per image; `names` = (run, file) per image, for the heads that save pictures."""
        per_head = [self._run(head, images, names) for head in self.heads]
        return [Prediction(tuple(outputs[i] for outputs in per_head)) for i in range(len(images))]

    def _run(
        self, head: Head, images: Sequence[np.ndarray], names: Sequence[tuple[str, str]]
    ) -> list[HeadOutput]:
        """The head's outputs for the batch; when it fails on a batch, frame by frame, so that a frame it
        cannot take costs only that frame's outputs of this head."""
        try:
            outputs = head.predict(images, names=names, box=self._box)
            if len(outputs) != len(images):
                raise ModelError(f"{len(outputs)} outputs for {len(images)} frames")
            return outputs
        except Exception:
            if len(images) > 1:
                return [
                    out
                    for i in range(len(images))
                    for out in self._run(head, images[i : i + 1], names[i : i + 1])
                ]
            label = names[0][1] if names else "a frame"
            log.exception("%s: the %s model failed", label, head.spec.name)
            return [head.spec.missing()] * len(images)


def build_model_step(
    models: ModelsConfig, analytics: AnalyticsConfig, *, packages: Sequence[str] = ()
) -> ModelStep | None:
    """The heads a config switches on, loaded; None when the model step is off. `packages`: more packages to
    find heads in, after monitor.nets.heads (for tests)."""
    if not models.enabled:
        return None
    started = time.perf_counter()
    step = ModelStep(build_heads(models, analytics, packages))
    log.info(
        "model step ready in %.1f s: %s",
        time.perf_counter() - started,
        ", ".join(h.spec.name for h in step.heads),
    )
    return step
