"""Saving and loading: the manifest, the checksum and the architecture must all agree."""

import json
from pathlib import Path

import pytest
import torch

from monitor.nets.lifecycle import file_sha256, load_model, save_model, select_device
from monitor.nets.manifest import (
    MANIFEST_NAME,
    WEIGHTS_NAME,
    Architecture,
    InputSpec,
    Manifest,
    ModelError,
    Split,
    TrainingRun,
    current_versions,
    read_manifest,
)
from monitor.nets.networks import build_network
from monitor.nets.recipe import UNSET_SHA256


class Payload:
    """Any class: unpickling it would run code chosen by whoever wrote the file."""


ARCH = Architecture(name="unet_dt", params={"ngf": 4, "depth": 5})


def _manifest(arch: Architecture = ARCH) -> Manifest:
    return Manifest(
        name="forecast",
        task="forecast",
        architecture=arch,
        input=InputSpec(width=32, height=32),
        training={"epochs": 1, "seconds": 0.5},
        runs=(TrainingRun(name="run1", folder="/runs/run1", frames=10, labelled=10),),
        split=Split(method="time_blocks", block_s=60, holdout_every=4, train_frames=8, heldout_frames=2),
        metrics={"psnr_dt5": 30.0},
        baselines={"psnr_dt5": 28.0},
        versions=current_versions(),
        weights_sha256=UNSET_SHA256,
    )


@pytest.fixture
def saved(tmp_path: Path) -> tuple[Path, torch.nn.Module]:
    torch.manual_seed(0)
    net = build_network(ARCH)
    save_model(tmp_path / "forecast", net, _manifest())
    return tmp_path / "forecast", net


def test_round_trip_gives_the_same_network(saved: tuple[Path, torch.nn.Module]) -> None:
    folder, net = saved
    manifest = read_manifest(folder)
    assert manifest.weights_sha256 == file_sha256(folder / WEIGHTS_NAME)
    loaded, _ = load_model(folder, task="forecast", device=torch.device("cpu"))
    assert not loaded.training
    x = torch.randn(1, 4, 32, 32)
    net.eval()
    with torch.inference_mode():
        assert torch.equal(loaded(x), net(x))


def test_a_modified_weights_file_is_refused(saved: tuple[Path, torch.nn.Module]) -> None:
    folder, _ = saved
    data = bytearray((folder / WEIGHTS_NAME).read_bytes())
    data[-100] ^= 0xFF
    (folder / WEIGHTS_NAME).write_bytes(bytes(data))
    with pytest.raises(ModelError, match="checksum does not match"):
        load_model(folder, task="forecast", device=torch.device("cpu"))


def test_a_pickled_object_is_refused_by_the_safe_loader(saved: tuple[Path, torch.nn.Module]) -> None:
    """A checkpoint carrying arbitrary Python objects: even with a matching checksum, weights_only says no."""
    folder, _ = saved
    torch.save({"evil": Payload()}, folder / WEIGHTS_NAME)
    manifest = read_manifest(folder).model_copy(update={"weights_sha256": file_sha256(folder / WEIGHTS_NAME)})
    (folder / MANIFEST_NAME).write_text(manifest.model_dump_json(), encoding="utf-8")
    with pytest.raises(ModelError, match="refused by the safe loader"):
        load_model(folder, task="forecast", device=torch.device("cpu"))


def test_weights_of_another_architecture_are_refused(tmp_path: Path) -> None:
    other = build_network(Architecture(name="unet_dt", params={"ngf": 8, "depth": 5}))
    save_model(tmp_path / "m", other, _manifest())  # the manifest claims ngf 4
    with pytest.raises(ModelError, match="does not fit architecture unet_dt"):
        load_model(tmp_path / "m", task="forecast", device=torch.device("cpu"))


def test_a_model_from_another_version_says_to_retrain() -> None:
    # colour_means was replaced by colour_bins
    old = Architecture(name="resnet18_heads", params={"colour_means": True, "hidden": 0})
    with pytest.raises(ModelError, match=r"colour_means.*must be trained again \(`furnace-monitor train`\)"):
        build_network(old)


def test_the_wrong_task_is_refused(saved: tuple[Path, torch.nn.Module]) -> None:
    folder, _ = saved
    with pytest.raises(ModelError, match="a 'forecast' model, expected 'temperature_progress'"):
        load_model(folder, task="temperature_progress", device=torch.device("cpu"))


@pytest.mark.parametrize(
    ("edit", "message"),
    [
        (lambda d: d.pop("split"), "split: Field required"),
        (
            lambda d: d.update(schema_version=99),
            "schema_version 99, this version reads 2; train the model again",
        ),
        (lambda d: d.update(weights_sha256="abc"), "weights_sha256: String should match pattern"),
        (lambda d: d.update(surprise=1), "surprise: Extra inputs are not permitted"),
        (lambda d: d["architecture"].update(name="vgg"), "unknown architecture 'vgg'"),
    ],
)
def test_a_broken_manifest_is_a_clear_error(saved: tuple[Path, torch.nn.Module], edit, message: str) -> None:
    folder, _ = saved
    data = json.loads((folder / MANIFEST_NAME).read_text(encoding="utf-8"))
    edit(data)
    (folder / MANIFEST_NAME).write_text(json.dumps(data), encoding="utf-8")
    with pytest.raises(ModelError, match=message):
        load_model(folder, task="forecast", device=torch.device("cpu"))


def test_missing_files_are_named(tmp_path: Path, saved: tuple[Path, torch.nn.Module]) -> None:
    with pytest.raises(ModelError, match=r"no manifest\.json; train one with"):
        load_model(tmp_path / "nothing", task="forecast", device=torch.device("cpu"))
    folder, _ = saved
    (folder / WEIGHTS_NAME).unlink()
    with pytest.raises(ModelError, match=r"weights file weights\.pt is missing"):
        load_model(folder, task="forecast", device=torch.device("cpu"))


def test_device_selection() -> None:
    expected = "cuda" if torch.cuda.is_available() else "cpu"
    assert select_device("auto").type == expected
    assert select_device("cpu").type == "cpu"
    if not torch.cuda.is_available():
        with pytest.raises(ModelError, match="no CUDA device"):
            select_device("cuda")
