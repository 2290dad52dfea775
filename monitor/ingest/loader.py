"""Read one frame file into an image, or say precisely why it cannot be used."""

import re
from collections.abc import Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np

FRAME_SUFFIXES = (".jpg", ".jpeg", ".png")
_JPEG_SOI, _JPEG_EOI = b"\xff\xd8", b"\xff\xd9"
_PNG_MAGIC, _PNG_IEND = b"\x89PNG\r\n\x1a\n", b"IEND\xaeB`\x82"


class FrameError(Exception):
    """A frame file that cannot be used: empty, truncated, not an image, wrong size."""


@dataclass(frozen=True, slots=True)
class Frame:
    """A decoded frame: where it came from, its position in the run and its pixels (BGR)."""

    path: Path
    index: int  # 0-based position in the run
    image: np.ndarray

    @property
    def name(self) -> str:
        return self.path.name


def time_from_name(name: str) -> int | None:
    """The run second a frame's file name states ('0548.jpg' -> 548), if it is a plain number."""
    match = re.fullmatch(r"(\d+)\.\w+", name)
    return int(match.group(1)) if match else None


def list_frames(folder: Path) -> list[Path]:
    """The frame files of a recorded run, in time order (numeric names by number, others by name)."""
    if not folder.is_dir():
        raise FileNotFoundError(f"{folder} is not a folder of frames")
    files = [
        p
        for p in folder.iterdir()
        if p.suffix.lower() in FRAME_SUFFIXES and not p.name.startswith(".") and p.is_file()
    ]

    def key(p: Path) -> tuple[int, int, str]:
        t = time_from_name(p.name)
        return (0, t, p.name) if t is not None else (1, 0, p.name)

    return sorted(files, key=key)


def decode_frame(data: bytes, *, name: str, size: tuple[int, int] | None = None) -> np.ndarray:
    """Decode frame bytes (JPEG or PNG) to BGR; `size` = expected (width, height) or None for any."""
    if not data:
        raise FrameError(f"{name}: empty file")
    if data[:2] == _JPEG_SOI:
        if _JPEG_EOI not in data[-64:]:
            raise FrameError(f"{name}: truncated JPEG (no end-of-image marker; {len(data)} bytes)")
    elif data[:8] == _PNG_MAGIC:
        if _PNG_IEND not in data[-32:]:
            raise FrameError(f"{name}: truncated PNG (no IEND chunk; {len(data)} bytes)")
    else:
        raise FrameError(f"{name}: not a JPEG or PNG image (starts with {data[:8]!r})")
    image = cv2.imdecode(np.frombuffer(data, np.uint8), cv2.IMREAD_COLOR)
    if image is None:
        raise FrameError(f"{name}: the image data could not be decoded")
    if size is not None and (image.shape[1], image.shape[0]) != size:
        raise FrameError(
            f"{name}: wrong size {image.shape[1]}x{image.shape[0]}, expected {size[0]}x{size[1]}"
        )
    return image


def load_frame(path: Path, index: int, *, size: tuple[int, int] | None = None) -> Frame:
    """Read and decode a frame file; FrameError says what is wrong with it."""
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise FrameError(f"{path.name}: cannot read ({exc.strerror})") from exc
    return Frame(path=path, index=index, image=decode_frame(data, name=path.name, size=size))


def load_frames(
    paths: list[Path], *, size: tuple[int, int] | None = None, depth: int = 4
) -> Iterator[Frame | FrameError]:
    """Each path's Frame (or its FrameError), in order, decoded ahead in a thread: OpenCV releases the GIL,
    so decoding overlaps the work on the current frame."""

    def load(path: Path, index: int) -> Frame | FrameError:
        try:
            return load_frame(path, index, size=size)
        except FrameError as exc:
            return exc

    with ThreadPoolExecutor(max_workers=1, thread_name_prefix="decode") as pool:
        pending: list[Future[Frame | FrameError]] = []
        for i, path in enumerate(paths):
            pending.append(pool.submit(load, path, i))
            if len(pending) > depth:
                yield pending.pop(0).result()
        for future in pending:
            yield future.result()
