"""The frame file formats the loader reads, told apart by their first bytes, each with its own check that a
file is whole: a camera may still be writing it."""

import os
import struct
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from monitor.ingest.tiff import MAGICS as TIFF_MAGICS
from monitor.ingest.tiff import ByteReader, TiffLayoutError, read_layout

FRAME_SUFFIXES = (".jpg", ".jpeg", ".png", ".bmp", ".tif", ".tiff")
FORMAT_NAMES = "JPEG, PNG, BMP or TIFF"
HEAD_BYTES = 8  # enough to tell the formats apart

_JPEG_EOI = b"\xff\xd9"
_PNG_MAGIC, _PNG_IEND = b"\x89PNG\r\n\x1a\n", b"IEND\xaeB`\x82"
_BMP_FILE_HEADER = 14
_BMP_CORE_HEADER, _BMP_INFO_HEADER = 12, 40  # the two DIB header layouts (every later one extends INFO)
_BMP_UNCOMPRESSED = (0, 3, 6)  # BI_RGB, BI_BITFIELDS, BI_ALPHABITFIELDS: rows of a known stride


@dataclass(frozen=True, slots=True)
class FrameFormat:
    name: str
    magics: tuple[bytes, ...]
    missing: Callable[[ByteReader, int], str | None]  # (read, file size) -> why it is not whole yet, or None


def _jpeg_missing(read: ByteReader, size: int) -> str | None:
    # the marker is the last two bytes, but some writers pad after it
    if _JPEG_EOI in read(max(0, size - 64), 64):
        return None
    return f"truncated JPEG (no end-of-image marker; {size} bytes)"


def _png_missing(read: ByteReader, size: int) -> str | None:
    if _PNG_IEND in read(max(0, size - 32), 32):
        return None
    return f"truncated PNG (no IEND chunk; {size} bytes)"


def _bmp_missing(read: ByteReader, size: int) -> str | None:
    """bfSize (the whole file) and the pixel data's end (offset + rows x stride) must both be there."""
    header = read(0, _BMP_FILE_HEADER + _BMP_INFO_HEADER)
    if len(header) < _BMP_FILE_HEADER + 4:
        return f"truncated BMP: {size} bytes, shorter than its header"
    file_size, pixels_at, dib_size = struct.unpack_from("<I4xII", header, 2)
    if dib_size == _BMP_CORE_HEADER and len(header) >= _BMP_FILE_HEADER + _BMP_CORE_HEADER:
        width, height, _, bits = struct.unpack_from("<HHHH", header, 18)
        compression, image_size = 0, 0
    elif dib_size >= _BMP_INFO_HEADER and len(header) >= _BMP_FILE_HEADER + _BMP_INFO_HEADER:
        width, height, _, bits, compression, image_size = struct.unpack_from("<iiHHII", header, 18)
    else:
        return f"truncated BMP: {size} bytes, shorter than its header"
    if compression in _BMP_UNCOMPRESSED:
        pixel_bytes = (abs(width) * bits + 31) // 32 * 4 * abs(height)  # rows padded to 4 bytes
    else:  # run-length coded: only the stated size tells
        pixel_bytes = image_size
    needed = max(file_size, pixels_at + pixel_bytes)
    return None if size >= needed else f"truncated BMP: header says {needed} bytes, file has {size}"


def _tiff_missing(read: ByteReader, size: int) -> str | None:
    try:
        read_layout(read, size)
    except TiffLayoutError as exc:
        return f"truncated TIFF: {exc}"
    return None


FORMATS = (
    FrameFormat("JPEG", (b"\xff\xd8",), _jpeg_missing),
    FrameFormat("PNG", (_PNG_MAGIC,), _png_missing),
    FrameFormat("BMP", (b"BM",), _bmp_missing),
    FrameFormat("TIFF", TIFF_MAGICS, _tiff_missing),
)


def format_of(head: bytes) -> FrameFormat | None:
    """The format whose magic number `head` (a file's first HEAD_BYTES) starts with, if any."""
    return next((f for f in FORMATS if head.startswith(f.magics)), None)


def bytes_reader(data: bytes) -> ByteReader:
    return lambda offset, length: data[offset : offset + length]


def file_is_whole(path: Path) -> bool:
    """False if the file is of a known format (or as yet only the start of its magic number) and not whole;
    a file of no known format cannot be told, so it counts as whole and the loader reports what it is."""
    try:
        with path.open("rb") as f:
            size = os.fstat(f.fileno()).st_size

            def read(offset: int, length: int) -> bytes:
                f.seek(offset)
                return f.read(length)

            head = read(0, HEAD_BYTES)
            fmt = format_of(head)
            if fmt is None:  # a few bytes of a magic number are the start of a frame, not a foreign file
                return not any(magic.startswith(head) for f in FORMATS for magic in f.magics)
            return fmt.missing(read, size) is None
    except OSError:
        return False


def significant_bits(data: bytes) -> int | None:
    """How many bits of each 16-bit sample the file declares meaningful (PNG sBIT chunk, TIFF
    MaxSampleValue), e.g. 12 for a 12-bit sensor's data in a 16-bit container; None if it does not say."""
    if data.startswith(_PNG_MAGIC):
        return _png_significant_bits(data)
    if data.startswith(TIFF_MAGICS):
        try:
            top = read_layout(bytes_reader(data), len(data)).max_sample_value()
        except TiffLayoutError:
            return None
        return top.bit_length() if top else None
    return None


def _png_significant_bits(data: bytes) -> int | None:
    at = len(_PNG_MAGIC)
    while at + 8 <= len(data):
        length, kind = struct.unpack_from(">I4s", data, at)
        if kind == b"sBIT":  # one byte per channel (grey, RGB, with alpha)
            return max(data[at + 8 : at + 8 + length], default=None)
        if kind in (b"IDAT", b"IEND"):  # sBIT must come before the image data
            return None
        at += 12 + length  # length, type, data, CRC
    return None
