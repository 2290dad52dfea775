"""pix2pix architectures (after junyanz/pytorch-CycleGAN-and-pix2pix): the U-Net generator that predicts a
later frame as a change of the current one, and the conditional 70x70 PatchGAN discriminator.

GroupNorm instead of junyanz's BatchNorm / InstanceNorm: it normalises each image on its own, so training
and eval compute the same thing (BatchNorm's running statistics lagged the weights so much that a model
which fitted its training batches still forecast like an untrained one in eval mode), a forecast does
not depend on the batch (batch 1 works), and, unlike InstanceNorm, it is defined on the 1x1 bottleneck and
keeps the differences between the channels of a group, through which the absolute colour (the
temperature cue) and the constant dt channel survive normalisation. The discriminator uses it too, so a
patch's score does not depend on which other images share its batch.
"""

import math

import torch
from torch import nn

GROUPS = 8  # at most; fewer when the channel count is not a multiple of it (gcd)


def _norm(channels: int) -> nn.GroupNorm:
    return nn.GroupNorm(math.gcd(channels, GROUPS), channels)


def _init_weights(module: nn.Module) -> None:
    """junyanz's 'normal' init: N(0, 0.02) convolutions, N(1, 0.02) norm scales, zero biases."""
    if isinstance(module, nn.Conv2d | nn.ConvTranspose2d):
        nn.init.normal_(module.weight, 0.0, 0.02)
        if module.bias is not None:
            nn.init.zeros_(module.bias)
    elif isinstance(module, nn.GroupNorm):
        nn.init.normal_(module.weight, 1.0, 0.02)
        nn.init.zeros_(module.bias)


class _SkipBlock(nn.Module):
    """One U-Net level: down, the inner levels, up; its input is concatenated to its output (the skip)."""

    def __init__(
        self,
        outer: int,
        inner: int,
        *,
        sub: nn.Module | None,
        in_channels: int | None = None,
        outermost: bool = False,
        dropout: bool = False,
    ) -> None:
        super().__init__()
        self.outermost = outermost
        down_in = in_channels if in_channels is not None else outer
        innermost = sub is None
        # as junyanz: no norm on the outermost down (raw pixels) nor on the innermost (the bottleneck)
        down: list[nn.Module] = [] if outermost else [nn.LeakyReLU(0.2, inplace=False)]
        down.append(nn.Conv2d(down_in, inner, 4, stride=2, padding=1, bias=outermost or innermost))
        if not (outermost or innermost):
            down.append(_norm(inner))
        up_in = inner if innermost else inner * 2
        up: list[nn.Module] = [
            nn.ReLU(inplace=False),
            nn.ConvTranspose2d(up_in, outer, 4, stride=2, padding=1, bias=outermost),
        ]
        if not outermost:
            up.append(_norm(outer))
            if dropout:
                up.append(nn.Dropout(0.5))
        self.down = nn.Sequential(*down)
        self.sub = sub if sub is not None else nn.Identity()
        self.up = nn.Sequential(*up)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        y = self.up(self.sub(self.down(x)))
        return y if self.outermost else torch.cat([x, y], dim=1)


class _ZeroSumFilter(nn.Module):
    """A learnt k x k filter per channel, its taps summing to zero: it can smooth or sharpen, not recolour."""

    def __init__(self, channels: int, size: int = 3) -> None:
        super().__init__()
        self.weight = nn.Parameter(torch.zeros(channels, 1, size, size))  # zero: no change at first

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        w = self.weight - self.weight.mean(dim=(2, 3), keepdim=True)
        p = self.weight.shape[-1] // 2
        return nn.functional.conv2d(
            nn.functional.pad(x, (p, p, p, p), mode="replicate"), w, groups=x.shape[1]
        )


class UNetGenerator(nn.Module):
    """The frame dt ahead, from the current frame ([-1, 1] RGB) plus a constant dt channel.

    The net learns the change of the frame: output = input RGB + delta, kept in [-1, 1]. Every learnt part
    starts at zero, so an untrained model is exactly copy-the-last-frame, the baseline it has to beat.
    - `dt_gate`: the U-Net's delta is scaled by the last input channel (dt / dt_scale), so a change learnt
      at 30 s is not applied in full at 5 s (without it, a briefly trained net learnt the run's average
      drift and applied it at every dt, losing to copy-last at 5 s).
    - `detail_filter`: a full-resolution path, a 3x3 zero-sum filter on the frame itself. The U-Net's
      finest level works at half resolution, so a per-pixel correction (the camera noise, which the next
      frame does not share) took it thousands of steps; the filter learns it in hundreds, and its zero
      sum keeps it from touching the colour, which is the gated U-Net's job.
    """

    def __init__(
        self,
        in_channels: int = 4,
        out_channels: int = 3,
        ngf: int = 16,
        depth: int = 8,
        dropout: bool = False,
        dt_gate: bool = True,
        detail_filter: bool = True,
    ) -> None:
        super().__init__()
        if depth < 5:
            raise ValueError(f"depth must be >= 5 (the four outer levels and a bottleneck), got {depth}")
        if out_channels > in_channels or (dt_gate and in_channels == out_channels):
            raise ValueError(
                f"{in_channels} input channels: need the {out_channels} frame channels"
                + (" and a dt channel after them" if dt_gate else "")
            )
        self.out_channels = out_channels
        self.dt_gate = dt_gate
        self.detail = _ZeroSumFilter(out_channels) if detail_filter else None
        block = _SkipBlock(ngf * 8, ngf * 8, sub=None)
        for _ in range(depth - 5):
            block = _SkipBlock(ngf * 8, ngf * 8, sub=block, dropout=dropout)
        block = _SkipBlock(ngf * 4, ngf * 8, sub=block)
        block = _SkipBlock(ngf * 2, ngf * 4, sub=block)
        block = _SkipBlock(ngf, ngf * 2, sub=block)
        self.model = _SkipBlock(out_channels, ngf, sub=block, in_channels=in_channels, outermost=True)
        self.apply(_init_weights)
        last = self.model.up[-1]
        assert isinstance(last, nn.ConvTranspose2d)
        nn.init.zeros_(last.weight)
        if last.bias is not None:
            nn.init.zeros_(last.bias)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        frame = x[:, : self.out_channels]
        delta = self.model(x)
        out = frame + (x[:, -1:] * delta if self.dt_gate else delta)
        if self.detail is not None:
            out = out + self.detail(frame)
        clamped = out.clamp(-1.0, 1.0)
        if not self.training:
            return clamped
        # straight-through in training: a saturated pixel (red glows at 255) whose target is lower
        # still gets a gradient, which a plain clamp would cut
        return out + (clamped - out).detach()


class PatchDiscriminator(nn.Module):
    """The conditional PatchGAN: (input, frame) concatenated -> a map of real/fake logits, one per
    overlapping 70x70 patch (with layers=3)."""

    def __init__(self, in_channels: int = 7, ndf: int = 64, layers: int = 3) -> None:
        super().__init__()
        if layers < 1:
            raise ValueError(f"layers must be >= 1, got {layers}")
        seq: list[nn.Module] = [nn.Conv2d(in_channels, ndf, 4, stride=2, padding=1), nn.LeakyReLU(0.2)]
        mult = 1
        for n in range(1, layers + 1):
            prev, mult = mult, min(2**n, 8)
            stride = 2 if n < layers else 1
            seq += [
                nn.Conv2d(ndf * prev, ndf * mult, 4, stride=stride, padding=1, bias=False),
                _norm(ndf * mult),
                nn.LeakyReLU(0.2),
            ]
        seq.append(nn.Conv2d(ndf * mult, 1, 4, stride=1, padding=1))
        self.model = nn.Sequential(*seq)
        self.apply(_init_weights)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.model(x)
