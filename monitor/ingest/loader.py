"""Read one frame file into an image, or say precisely why it cannot be used; list a run's frame files."""

import re
from collections.abc import Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path

import cv2
import numpy as np

from monitor.ingest.formats import FORMAT_NAMES, FRAME_SUFFIXES, HEAD_BYTES, bytes_reader, format_of
from monitor.ingest.formats import significant_bits as declared_bits
from monitor.ingest.header import HeaderTooLarge, declared_size
from monitor.records import FlagKind, Frame

# Pixels a frame may declare, at most, unless the caller says otherwise (ingest.max_pixels): a 16 MP camera,
# above the simulator's largest frame. A header declaring more is refused before decoding: a 4 MB JPEG can
# declare 16000x16000, 768 MB once decoded.
MAX_PIXELS = 4096 * 4096


class FrameError(Exception):
    """A frame file that cannot be used: empty, truncated, not an image, too large, wrong size, a link out
    of its folder. The message names the file and says why; it never quotes the file's contents."""

    def __init__(self, message: str, kind: FlagKind = FlagKind.UNREADABLE) -> None:
        super().__init__(message)
        self.kind = kind


class NoFramesError(Exception):
    """A run folder without a single usable frame: no frame files, or none that decodes."""


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

    return sorted(files, key=lambda p: frame_order(p.name))


def frame_order(name: str) -> tuple[int, int, str]:
    """Sort key of a frame file name: numeric names by number (9 before 10), others after them by name."""
    t = time_from_name(name)
    return (0, t, name) if t is not None else (1, 0, name)


def usable_frames(folder: Path, *, size: tuple[int, int] | None = None) -> list[Path]:
    """`list_frames`, but a folder without one frame that decodes is a NoFramesError: a run of zero frames
    would otherwise pass for a quiet one. Decodes until the first good frame (usually just the first)."""
    paths = list_frames(folder)
    looked_for = "/".join(s.lstrip(".") for s in FRAME_SUFFIXES)
    if not paths:
        raise NoFramesError(f"{folder}: no frame files (looked for {looked_for})")
    first_error: FrameError | None = None
    for i, path in enumerate(paths):
        try:
            load_frame(path, i, size=size)
            return paths
        except FrameError as exc:
            first_error = first_error or exc
    raise NoFramesError(f"{folder}: none of the {len(paths)} frame files decodes (first: {first_error})")


def decode_frame(
    data: bytes, *, name: str, size: tuple[int, int] | None = None, max_pixels: int = MAX_PIXELS
) -> np.ndarray:
    """Decode frame bytes (JPEG, PNG, BMP or TIFF; 8 or 16 bits, grey, colour or with alpha) to 8-bit BGR;
    `size` = expected (width, height) or None for any. The header's size is checked against `size` and
    `max_pixels` before a byte is decoded."""
    if not data:
        raise FrameError(f"{name}: empty file", FlagKind.EMPTY)
    fmt = format_of(data[:HEAD_BYTES])
    if fmt is None:  # the bytes are not quoted: a link or a stray file may hold anything, secrets included
        raise FrameError(f"{name}: not a {FORMAT_NAMES} image")
    missing = fmt.missing(bytes_reader(data), len(data))
    if missing is not None:
        raise FrameError(f"{name}: {missing}")
    try:
        declared = declared_size(data)
    except HeaderTooLarge:
        raise FrameError(
            f"{name}: too large: more than {max_pixels} pixels declared", FlagKind.TOO_LARGE
        ) from None
    if declared is not None:
        _check_size(declared, name=name, size=size, max_pixels=max_pixels)
    # ANYDEPTH keeps 16-bit samples for the scaling below (plain IMREAD_COLOR would shift them by 8 blindly)
    image = cv2.imdecode(np.frombuffer(data, np.uint8), cv2.IMREAD_ANYDEPTH | cv2.IMREAD_ANYCOLOR)
    if image is None:
        raise FrameError(f"{name}: the image data could not be decoded")
    image = _to_bgr8(image, data, name=name)
    _check_size((image.shape[1], image.shape[0]), name=name, size=size, max_pixels=max_pixels)
    return image


def _check_size(got: tuple[int, int], *, name: str, size: tuple[int, int] | None, max_pixels: int) -> None:
    width, height = got
    if width * height > max_pixels:
        raise FrameError(
            f"{name}: too large: {width}x{height} declared, more than {max_pixels} pixels", FlagKind.TOO_LARGE
        )
    if size is not None and got != size:
        raise FrameError(
            f"{name}: wrong size {width}x{height}, expected {size[0]}x{size[1]}", FlagKind.SIZE_CHANGED
        )


def _to_bgr8(image: np.ndarray, data: bytes, *, name: str) -> np.ndarray:
    """8-bit, 3-channel BGR. 16-bit samples are shifted down by (bits - 8), where bits is what the file
    declares meaningful (PNG sBIT, TIFF MaxSampleValue; 16 when it says nothing), so 12-bit sensor data
    in a 16-bit container keeps its brightness. The scale is never guessed from the pixel values: a dark
    frame would then be scaled unlike its bright neighbours and the run's brightness series would jump."""
    if image.dtype == np.uint16:
        bits = min(max(declared_bits(data) or 16, 8), 16)
        image = np.minimum(image >> (bits - 8), 255).astype(np.uint8)  # values beyond the declared bits clip
    elif image.dtype != np.uint8:
        raise FrameError(f"{name}: {image.dtype} samples; only 8- and 16-bit integer images are read")
    channels = 1 if image.ndim == 2 else image.shape[2]
    if channels == 1:
        return cv2.cvtColor(image.reshape(image.shape[:2]), cv2.COLOR_GRAY2BGR)
    if channels == 4:
        return cv2.cvtColor(image, cv2.COLOR_BGRA2BGR)
    if channels != 3:
        raise FrameError(f"{name}: {channels} channels; grey, BGR or BGRA images only")
    return image


def load_frame(
    path: Path, index: int, *, size: tuple[int, int] | None = None, max_pixels: int = MAX_PIXELS,
    within: Path | None = None,
) -> Frame:  # fmt: skip
    """Read and decode a frame file; FrameError says what is wrong with it. With `within`, a file that is
    (or lies behind) a link leading out of that folder is refused unread."""
    if within is not None and not inside(path, within):
        raise FrameError(f"{path.name}: a link out of the watched folder; not read", FlagKind.OUTSIDE_FOLDER)
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise FrameError(f"{path.name}: cannot read ({exc.strerror})") from exc
    return Frame(
        path=path, index=index, image=decode_frame(data, name=path.name, size=size, max_pixels=max_pixels)
    )


def inside(path: Path, folder: Path) -> bool:
    """True if `path`, links followed, stays inside `folder` (links followed too)."""
    try:
        return path.resolve().is_relative_to(folder.resolve())
    except (OSError, RuntimeError):  # a link loop
        return False


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
