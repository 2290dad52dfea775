"""ResNetHeads: output shapes, eval on one frame, ONNX export, initialising the trunk from a local file."""

import warnings
from pathlib import Path

import numpy as np
import pytest
import torch
import torchvision

from monitor.nets.engine import OnnxEngine
from monitor.nets.manifest import Architecture, ModelError
from monitor.nets.networks import build_network
from monitor.nets.resnet_heads import ResNetHeads

H, W = 48, 64


@pytest.mark.parametrize(
    ("params", "width"),
    [({}, 2), ({"stage_classes": 6}, 8), ({"stage_classes": 2, "colour_bins": 8, "hidden": 16}, 4)],
)
def test_output_shape_with_and_without_stage_head(params: dict, width: int) -> None:
    torch.manual_seed(0)
    net = ResNetHeads(**params)
    assert net(torch.randn(3, 3, H, W)).shape == (3, width)
    net.eval()
    with torch.inference_mode():
        assert net(torch.randn(1, 3, H, W)).shape == (1, width)


def test_eval_gives_each_frame_the_same_output_alone_or_in_a_batch() -> None:
    torch.manual_seed(0)
    net = ResNetHeads(stage_classes=3).eval()
    x = torch.randn(4, 3, H, W)
    with torch.inference_mode():
        together = net(x)
        alone = torch.cat([net(x[i : i + 1]) for i in range(4)])
    torch.testing.assert_close(alone, together, rtol=1e-4, atol=1e-5)


def test_the_factory_builds_it_from_manifest_params() -> None:
    params = {"stage_classes": 6, "dropout": 0.1, "colour_bins": 8, "hidden": 32}
    net = build_network(Architecture(name="resnet18_heads", params=params))
    assert isinstance(net, ResNetHeads)
    assert net.stage_classes == 6 and net.colour_bins == 8


@pytest.mark.parametrize(
    "params",
    [{"stage_classes": -1}, {"dropout": 1.0}, {"hidden": -1}, {"colour_bins": 1}, {"colour_bins": -2}],
)
def test_bad_parameters_are_refused(params: dict) -> None:
    with pytest.raises(ValueError):
        ResNetHeads(**params)


def test_onnx_export_matches_torch(tmp_path: Path) -> None:
    torch.manual_seed(0)
    net = ResNetHeads(stage_classes=6, colour_bins=8, hidden=16).eval()
    sample = torch.randn(1, 3, H, W).numpy()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # the TorchScript exporter's tracer warnings
        engine = OnnxEngine(net, sample, tmp_path / "regressor.onnx")  # the runtime's export
    for n in (1, 3):
        x = torch.randn(n, 3, H, W)
        with torch.inference_mode():
            expected = net(x).numpy()
        np.testing.assert_allclose(engine(x.numpy()), expected, rtol=1e-3, atol=1e-4)


def test_load_trunk_takes_a_torchvision_state_dict_and_ignores_its_fc(tmp_path: Path) -> None:
    torch.manual_seed(1)
    source = torchvision.models.resnet18(weights=None)  # 1000-class fc: not ours, must be ignored
    path = tmp_path / "resnet18.pth"
    torch.save(source.state_dict(), path)
    torch.manual_seed(2)
    net = ResNetHeads()
    assert not torch.equal(net.trunk.conv1.weight, source.conv1.weight)
    net.load_trunk(path)
    assert torch.equal(net.trunk.conv1.weight, source.conv1.weight)
    assert torch.equal(net.trunk.layer4[1].bn2.running_var, source.layer4[1].bn2.running_var)


def _resnet34_state() -> dict:
    return torchvision.models.resnet34(weights=None).state_dict()


def _wrong_shape_state() -> dict:
    state = torchvision.models.resnet18(weights=None).state_dict()
    state["conv1.weight"] = torch.zeros(64, 1, 7, 7)
    return state


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (_resnet34_state, "unexpected"),
        (_wrong_shape_state, "wrong shape 1 (conv1.weight)"),
        (lambda: {"conv1.weight": torch.zeros(64, 3, 7, 7)}, "missing"),
        (lambda: [torch.zeros(3)], "expected a resnet18 state dict"),
        (None, "not a loadable state dict"),
    ],
)
def test_load_trunk_refuses_a_file_that_does_not_fit(tmp_path: Path, content, message: str) -> None:
    path = tmp_path / "other.pth"
    if content is None:
        path.write_bytes(b"not a torch file")
    else:
        torch.save(content(), path)
    net = ResNetHeads()
    before = net.trunk.conv1.weight.detach().clone()
    with pytest.raises(ModelError, match=message.replace("(", r"\(").replace(")", r"\)")):
        net.load_trunk(path)
    assert torch.equal(net.trunk.conv1.weight, before)
