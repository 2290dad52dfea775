"""The model heads, found by name: every module of this package with a `SPEC` (a HeadSpec named as the
module) and a `build_head(models, analytics)` returning its Head is one. A new model is one file here:
its outputs, declared in SPEC, reach the frame JSON, InfluxDB and the store with nothing else changed
(docs/models.md, "Adding a model")."""

import importlib
import pkgutil
from collections.abc import Sequence
from types import ModuleType
from typing import Protocol

import numpy as np

from monitor.config.analytics import AnalyticsConfig
from monitor.config.models import ModelsConfig
from monitor.config.overlay import Box
from monitor.nets.manifest import ModelError
from monitor.predictions import HeadOutput, HeadSpec


class Head(Protocol):
    """One model: its declared outputs and how it computes them for a batch of frames."""

    spec: HeadSpec

    def predict(
        self, images: Sequence[np.ndarray], *, names: Sequence[tuple[str, str]], box: Box | None
    ) -> list[HeadOutput]:
        """One output per image (BGR). `names`: (run, file) per image, when known (for saving a picture);
        `box`: the run's sample box, None until it is located. Raising costs only this head's outputs."""
        ...


def head_modules(packages: Sequence[str] = ()) -> list[ModuleType]:
    """The head modules of this package, then of the `packages` named (e.g. a test's), each sorted by name
    (the order the heads run)."""
    found: list[ModuleType] = []
    for package in (__name__, *packages):
        path = importlib.import_module(package).__path__
        for info in sorted(pkgutil.iter_modules(path), key=lambda i: i.name):
            module = importlib.import_module(f"{package}.{info.name}")
            spec = getattr(module, "SPEC", None)
            if not (isinstance(spec, HeadSpec) and callable(getattr(module, "build_head", None))):
                continue
            if spec.name != info.name:
                raise ModelError(f"{module.__name__}: SPEC is named {spec.name!r}, not {info.name!r}")
            found.append(module)
    names = [m.SPEC.name for m in found]
    if len(set(names)) != len(names):
        raise ModelError(f"two heads share a name: {names}")
    return found


def build_heads(models: ModelsConfig, analytics: AnalyticsConfig, packages: Sequence[str] = ()) -> list[Head]:
    """The heads the config switches on, loaded; a `models.heads` name no module has is an error."""
    modules = head_modules(packages)
    unknown = sorted(set(models.heads) - {m.SPEC.name for m in modules})
    if unknown:
        known = ", ".join(m.SPEC.name for m in modules)
        raise ModelError(f"models.heads: no head named {', '.join(unknown)} (there are: {known})")
    return [m.build_head(models, analytics) for m in modules if models.runs(m.SPEC.name)]
