"""The life of a trained network: pick the device, save weights beside their manifest, load them back
only when the manifest, the checksum and the architecture all agree."""

import hashlib
import logging
from pathlib import Path

import torch
from torch import nn

from monitor.nets.manifest import WEIGHTS_NAME, Manifest, ModelError, Task, read_manifest, write_manifest
from monitor.nets.networks import build_network

log = logging.getLogger(__name__)


def select_device(name: str = "auto") -> torch.device:
    """auto = CUDA when present, else the CPU; asking for CUDA on a machine without it is an error."""
    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    if name == "cuda" and not torch.cuda.is_available():
        raise ModelError("device 'cuda' asked for, but torch sees no CUDA device")
    return torch.device(name)


def file_sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def save_model(folder: Path, net: nn.Module, manifest: Manifest) -> Manifest:
    """Weights first, then the manifest that names their checksum (a crash leaves no valid pair)."""
    folder.mkdir(parents=True, exist_ok=True)
    weights = folder / WEIGHTS_NAME
    tmp = weights.with_suffix(".pt.tmp")
    state = {k: v.detach().cpu() for k, v in net.state_dict().items()}
    torch.save(state, tmp)
    tmp.replace(weights)
    manifest = manifest.model_copy(
        update={"weights_file": WEIGHTS_NAME, "weights_sha256": file_sha256(weights)}
    )
    write_manifest(folder, manifest)
    log.info("saved %s model to %s", manifest.task, folder)
    return manifest


def load_model(folder: Path, *, task: Task, device: torch.device) -> tuple[nn.Module, Manifest]:
    """The network in eval mode on `device`, and its manifest; a clear ModelError for anything amiss."""
    manifest = read_manifest(folder, task=task)
    weights = folder / manifest.weights_file
    if not weights.is_file():
        raise ModelError(f"{folder}: weights file {manifest.weights_file} is missing")
    if file_sha256(weights) != manifest.weights_sha256:
        raise ModelError(f"{weights}: checksum does not match the manifest (modified or damaged)")
    try:
        state = torch.load(weights, map_location="cpu", weights_only=True)
    except Exception as exc:  # torch raises several types for unpicklable or corrupt files
        raise ModelError(f"{weights}: refused by the safe loader ({exc})") from exc
    net = build_network(manifest.architecture)
    try:
        net.load_state_dict(state, strict=True)
    except (RuntimeError, TypeError) as exc:
        first = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        raise ModelError(
            f"{weights}: does not fit architecture {manifest.architecture.name} ({first})"
        ) from exc
    return net.to(device).eval(), manifest
