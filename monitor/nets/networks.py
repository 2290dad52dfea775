"""Architectures only: a factory that builds a network from the manifest's name and parameters."""

from collections.abc import Callable

from torch import nn

from monitor.nets.manifest import Architecture, ModelError
from monitor.nets.pix2pix import PatchDiscriminator, UNetGenerator
from monitor.nets.resnet_heads import ResNetHeads

_FACTORIES: dict[str, Callable[..., nn.Module]] = {
    "resnet18_heads": ResNetHeads,
    "unet_dt": UNetGenerator,
    "patchgan": PatchDiscriminator,
}


def build_network(arch: Architecture) -> nn.Module:
    try:
        factory = _FACTORIES[arch.name]
    except KeyError:
        raise ModelError(
            f"unknown architecture {arch.name!r}; known: {', '.join(sorted(_FACTORIES))}"
        ) from None
    try:
        return factory(**arch.params)
    except TypeError as exc:
        raise ModelError(
            f"architecture {arch.name}: bad parameters {arch.params} ({exc}); a model trained by another "
            "version of furnace-monitor must be trained again (`furnace-monitor train`)"
        ) from exc
