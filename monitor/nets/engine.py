"""Run a loaded network on N x C x H x W float32 batches: torch (optionally channels_last) or onnxruntime
on an exported copy. Both take and give numpy arrays, so the caller does not care which one runs."""

import logging
import warnings
from pathlib import Path
from typing import Literal, Protocol

import numpy as np
import torch
from torch import nn

from monitor.nets.manifest import ModelError

log = logging.getLogger(__name__)

Backend = Literal["torch", "onnx"]


class Engine(Protocol):
    name: str

    def __call__(self, batch: np.ndarray) -> np.ndarray: ...


class TorchEngine:
    def __init__(self, net: nn.Module, device: torch.device, *, channels_last: bool = False) -> None:
        self.net = net.to(device).eval()
        self.device = device
        self.channels_last = channels_last
        if channels_last:
            self.net = self.net.to(memory_format=torch.channels_last)
        self.name = "torch" + ("+channels_last" if channels_last else "")

    def __call__(self, batch: np.ndarray) -> np.ndarray:
        with torch.inference_mode():
            x = torch.from_numpy(np.ascontiguousarray(batch, dtype=np.float32)).to(self.device)
            if self.channels_last:
                x = x.contiguous(memory_format=torch.channels_last)
            return self.net(x).float().cpu().numpy()


class OnnxEngine:
    """onnxruntime on an ONNX copy exported once per weights checksum (a cache file, not a build artifact)."""

    name = "onnx"

    def __init__(self, net: nn.Module, sample: np.ndarray, path: Path, *, threads: int | None = None) -> None:
        import onnxruntime as ort

        if not path.is_file():
            export_onnx(net, sample, path)
        options = ort.SessionOptions()
        if threads:
            options.intra_op_num_threads = threads
        # Idle workers sleep instead of spinning: the OCR, both models and torch share two cores, and a
        # worker spinning after its run starved the next stage's threads (see `furnace-monitor bench`).
        options.add_session_config_entry("session.intra_op.allow_spinning", "0")
        try:
            self.session = ort.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])
        except Exception as exc:  # onnxruntime raises its own exception types for a broken file
            raise ModelError(f"{path}: onnxruntime cannot load the exported model ({exc})") from exc
        self.input = self.session.get_inputs()[0].name

    def __call__(self, batch: np.ndarray) -> np.ndarray:
        return self.session.run(None, {self.input: np.ascontiguousarray(batch, dtype=np.float32)})[0]


def export_onnx(net: nn.Module, sample: np.ndarray, path: Path) -> None:
    """Dynamic batch size; written beside and renamed, so a crash never leaves half a file."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".onnx.tmp")
    net = net.cpu().eval()
    # The TorchScript exporter: the dynamo one needs onnxscript, which this project does not install.
    with torch.inference_mode(), warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        torch.onnx.export(
            net,
            (torch.from_numpy(sample),),
            str(tmp),
            input_names=["input"],
            output_names=["output"],
            dynamic_axes={"input": {0: "batch"}, "output": {0: "batch"}},
            opset_version=17,
            dynamo=False,
        )
    tmp.replace(path)
    log.info("exported %s for onnxruntime", path)


def build_engine(
    net: nn.Module,
    *,
    backend: Backend,
    device: torch.device,
    sample: np.ndarray,
    onnx_path: Path,
    threads: int | None = None,
) -> Engine:
    if threads:
        torch.set_num_threads(threads)
    if backend == "onnx" and device.type == "cpu":
        if not threads:
            # torch only prepares the inputs and reads the outputs here: small tensors, whose second
            # OpenMP thread contended with onnxruntime's for the cores (`bench`: models 5x slower)
            torch.set_num_threads(1)
        return OnnxEngine(net, sample, onnx_path, threads=threads)
    return TorchEngine(net, device, channels_last=device.type == "cpu")
