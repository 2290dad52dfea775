"""What every training recipe hands back, and the seeding that makes a training run repeatable."""

import random
from dataclasses import dataclass, field

import numpy as np
import torch
from torch import nn

from monitor.nets.manifest import Manifest


@dataclass(frozen=True, slots=True)
class EpochLog:
    epoch: int  # 1-based
    train_loss: float  # the recipe's main loss, mean over the epoch
    heldout_loss: float | None  # the same loss on the held-out frames (None when there are none)
    extra: tuple[tuple[str, float], ...] = ()  # further per-epoch losses, e.g. ("adversarial", 0.7)


@dataclass(frozen=True, slots=True)
class TrainedModel:
    """A trained network in eval mode and its manifest (weights_sha256 is filled in by save_model)."""

    net: nn.Module
    manifest: Manifest
    history: list[EpochLog] = field(default_factory=list)


def seed_everything(seed: int) -> np.random.Generator:
    """Same seed, same weights and the same augmentations (on the CPU; CUDA kernels may still differ)."""
    random.seed(seed)
    torch.manual_seed(seed)
    return np.random.default_rng(seed)


UNSET_SHA256 = "0" * 64  # placeholder until save_model writes the real checksum
