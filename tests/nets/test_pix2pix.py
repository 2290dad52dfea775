from pathlib import Path

import numpy as np
import pytest
import torch
from torch import nn

from monitor.nets.engine import OnnxEngine
from monitor.nets.pix2pix import PatchDiscriminator, UNetGenerator


def frames(n: int, size: int, seed: int = 0, dt: float = 0.5) -> torch.Tensor:
    """n random inputs: RGB in [-1, 1] and a constant dt channel (dt / dt_scale)."""
    g = torch.Generator().manual_seed(seed)
    rgb = torch.rand(n, 3, size, size, generator=g) * 2 - 1
    return torch.cat([rgb, torch.full((n, 1, size, size), dt)], dim=1)


def trained_like(gen: UNetGenerator) -> UNetGenerator:
    """The zero-initialised parts given weights, as training would: zeros would make any check trivial."""
    torch.manual_seed(1)
    nn.init.normal_(gen.model.up[-1].weight, 0.0, 0.05)
    if gen.detail is not None:
        nn.init.normal_(gen.detail.weight, 0.0, 0.05)
    return gen


@pytest.mark.parametrize("size, depth", [(64, 6), (32, 5), (128, 6)])
def test_generator_keeps_the_frame_shape(size: int, depth: int) -> None:
    gen = trained_like(UNetGenerator(ngf=8, depth=depth))
    out = gen(frames(2, size))
    assert out.shape == (2, 3, size, size)
    assert out.min() >= -1.0 and out.max() <= 1.0


def test_untrained_generator_copies_the_last_frame() -> None:
    x = frames(2, 64)
    out = UNetGenerator(ngf=8, depth=6).eval()(x)
    assert torch.allclose(out, x[:, :3], atol=1e-6)


def test_the_change_grows_with_dt_from_none_at_zero() -> None:
    gen = trained_like(UNetGenerator(ngf=8, depth=6, detail_filter=False)).eval()
    with torch.inference_mode():
        rgb = frames(2, 64)[:, :3]
        change = [(gen(frames(2, 64, dt=dt)) - rgb).abs().mean().item() for dt in (0, 0.2, 1)]
    assert change[0] == 0.0
    assert 0.0 < change[1] < change[2]


def test_the_detail_filter_keeps_the_colour() -> None:
    gen = trained_like(UNetGenerator(ngf=8, depth=6))
    assert gen.detail is not None
    flat = torch.full((1, 3, 32, 32), 0.3)
    textured = frames(1, 32)[:, :3]
    assert torch.allclose(gen.detail(flat), torch.zeros_like(flat), atol=1e-6)
    assert gen.detail(textured).abs().mean() > 1e-3  # it does act on structure


def test_eval_is_per_image_and_repeatable() -> None:
    gen = trained_like(UNetGenerator(ngf=8, depth=6)).eval()
    x = frames(4, 64)
    with torch.inference_mode():
        batch = gen(x)
        single = gen(x[2:3])
        again = gen(x[2:3])
    assert torch.equal(single, again)
    assert torch.allclose(single, batch[2:3], atol=1e-5)
    assert not torch.allclose(batch[0], x[0, :3], atol=1e-3)  # the net does change the frame


def test_output_stays_in_range_but_saturated_pixels_still_learn() -> None:
    gen = UNetGenerator(ngf=8, depth=6).train()
    nn.init.constant_(gen.model.up[-1].bias, 0.5)  # pushes every pixel up
    x = frames(2, 64)
    x[:, :3] = 1.0  # saturated: red glowing at 255
    out = gen(x)
    assert out.max() <= 1.0 and torch.all(out == 1.0)
    out.sub(0.8).abs().mean().backward()  # the real frame is darker
    assert gen.model.up[-1].bias.grad is not None
    assert torch.all(gen.model.up[-1].bias.grad > 0)  # a plain clamp would give no gradient here


@pytest.mark.parametrize("size, patches", [(256, 30), (64, 6)])
def test_discriminator_scores_overlapping_patches(size: int, patches: int) -> None:
    disc = PatchDiscriminator(in_channels=7, ndf=8)
    x = torch.cat([frames(2, size), frames(2, size, seed=1)[:, :3]], dim=1)
    assert disc(x).shape == (2, 1, patches, patches)


@pytest.mark.parametrize(
    "kwargs",
    [{"depth": 4}, {"in_channels": 2, "out_channels": 3}, {"in_channels": 3, "out_channels": 3}],
)
def test_bad_generator_parameters_are_refused(kwargs: dict) -> None:
    with pytest.raises(ValueError):
        UNetGenerator(**kwargs)


@pytest.mark.filterwarnings(
    "ignore::DeprecationWarning", "ignore::torch.jit.TracerWarning", "ignore:Constant folding:UserWarning"
)
def test_onnx_export_matches_torch_for_any_batch(tmp_path: Path) -> None:
    gen = trained_like(UNetGenerator(ngf=8, depth=6)).eval()
    engine = OnnxEngine(gen, frames(1, 64).numpy(), tmp_path / "forecast.onnx")  # the runtime's export
    for n in (1, 3):
        x = frames(n, 64, seed=n)
        onnx_out = engine(x.numpy())
        with torch.inference_mode():
            torch_out = gen(x).numpy()
        assert onnx_out.shape == (n, 3, 64, 64)
        np.testing.assert_allclose(onnx_out, torch_out, atol=1e-5)
