"""Architecture only: a ResNet18 trunk shared by the 1# temperature and progress regression heads (and an
optional stage classifier)."""

from pathlib import Path

import torch
import torch.nn.functional as F
import torchvision
from torch import nn

from monitor.nets.manifest import ModelError

FEATURES = 512  # resnet18's pooled feature width
REGRESSION_OUTPUTS = 2  # standardised 1# temperature, standardised progress
HISTOGRAM_RANGE = 3.0  # the colour histogram spans +-3 standard deviations of the training frames' pixels
HISTOGRAM_POOL = 4  # px averaged before counting: the camera noise would blur fine bins otherwise


def colour_histogram(x: torch.Tensor, bins: int) -> torch.Tensor:
    """N x 3 x H x W normalised frames -> N x 3*bins soft (triangular) histograms of each channel.

    The whole-frame colour is the temperature cue, and it is a fine one: a few grey levels of green separate
    the cooling melt's minutes. Counting pixels per colour keeps that resolution where the trunk's pooled
    features, learnt from one run's frames, round it off."""
    pooled = F.avg_pool2d(x, HISTOGRAM_POOL)  # inputs are >= 32 px (RegressorOptions)
    centres = torch.linspace(-HISTOGRAM_RANGE, HISTOGRAM_RANGE, bins, device=x.device, dtype=x.dtype)
    width = 2 * HISTOGRAM_RANGE / (bins - 1)
    values = pooled.flatten(2).unsqueeze(2)  # N x 3 x 1 x P
    weights = F.relu(1 - (values - centres.view(1, 1, bins, 1)).abs() / width)
    return weights.mean(-1).flatten(1) * (bins / 4)  # ~unit scale, like the trunk's pooled features


class ResNetHeads(nn.Module):
    """N x 3 x H x W normalised frames -> N x (2 + stage_classes): standardised 1#, progress, stage logits."""

    def __init__(
        self, stage_classes: int = 0, dropout: float = 0.0, colour_bins: int = 0, hidden: int = 0
    ) -> None:
        super().__init__()
        if stage_classes < 0:
            raise ValueError(f"stage_classes must be >= 0, got {stage_classes}")
        if not 0.0 <= dropout < 1.0:
            raise ValueError(f"dropout must be in [0, 1), got {dropout}")
        if hidden < 0:
            raise ValueError(f"hidden must be >= 0, got {hidden}")
        if colour_bins == 1 or colour_bins < 0:
            raise ValueError(f"colour_bins must be 0 (off) or >= 2, got {colour_bins}")
        self.stage_classes = stage_classes
        self.colour_bins = colour_bins
        trunk = torchvision.models.resnet18(weights=None, zero_init_residual=True)
        # The trunk keeps torchvision's layer names, so a torchvision state dict loads into it as it is.
        trunk.fc = nn.Identity()
        self.trunk = trunk
        self.dropout = nn.Dropout(dropout)
        # The frame's colour histogram goes to the head directly (the temperature cue; see colour_histogram).
        width = FEATURES + 3 * colour_bins
        if hidden > 0:
            self.regression: nn.Module = nn.Sequential(
                nn.Linear(width, hidden), nn.ReLU(inplace=True), nn.Linear(hidden, REGRESSION_OUTPUTS)
            )
        else:
            self.regression = nn.Linear(width, REGRESSION_OUTPUTS)
        self.stage = nn.Linear(FEATURES, stage_classes) if stage_classes > 0 else None

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        pooled = self.trunk(x)
        out = self.regression(self.head_input(x, pooled))
        if self.stage is not None:
            out = torch.cat([out, self.stage(self.dropout(pooled))], dim=1)
        return out

    def head_input(self, x: torch.Tensor, pooled: torch.Tensor) -> torch.Tensor:
        """What the regression head sees: the trunk's pooled features (after dropout) and the histogram."""
        features = self.dropout(pooled)
        if self.colour_bins:
            features = torch.cat([features, colour_histogram(x, self.colour_bins)], dim=1)
        return features

    def reset_regression(self) -> None:
        """Fresh weights for the regression head (the trunk and the stage head keep theirs)."""
        for layer in self.regression.modules():
            if isinstance(layer, nn.Linear):
                layer.reset_parameters()

    def load_trunk(self, path: Path) -> None:
        """Initialise the trunk from a local torchvision resnet18 state dict (its fc layer is ignored)."""
        try:
            state = torch.load(path, map_location="cpu", weights_only=True)
        except Exception as exc:  # torch raises several types for missing, unpicklable or corrupt files
            raise ModelError(f"{path}: not a loadable state dict ({exc})") from exc
        if isinstance(state, dict) and isinstance(state.get("state_dict"), dict):
            state = state["state_dict"]  # some training scripts wrap the weights once
        if not isinstance(state, dict) or not all(isinstance(v, torch.Tensor) for v in state.values()):
            raise ModelError(f"{path}: expected a resnet18 state dict (names -> tensors)")
        state = {k.removeprefix("module."): v for k, v in state.items()}
        state = {k: v for k, v in state.items() if not k.startswith("fc.")}
        expected = self.trunk.state_dict()
        missing = sorted(expected.keys() - state.keys())
        unexpected = sorted(state.keys() - expected.keys())
        wrong = sorted(k for k in expected.keys() & state.keys() if expected[k].shape != state[k].shape)
        if missing or unexpected or wrong:
            problems = [
                f"{label} {len(names)} ({', '.join(names[:3])}{', ...' if len(names) > 3 else ''})"
                for label, names in (("missing", missing), ("unexpected", unexpected), ("wrong shape", wrong))
                if names
            ]
            raise ModelError(f"{path}: does not fit a torchvision resnet18 trunk: {'; '.join(problems)}")
        self.trunk.load_state_dict(state, strict=True)
