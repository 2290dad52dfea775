"""Just enough TIFF structure to tell a whole file from a half-written one: the first image directory (IFD)
and the strips or tiles it points to. Classic TIFF and BigTIFF, either byte order."""

import struct
from collections.abc import Callable
from dataclasses import dataclass

# (offset, length) -> the bytes there; shorter (or empty) past the end of the file
ByteReader = Callable[[int, int], bytes]

_CLASSIC = {b"II*\x00": "<", b"MM\x00*": ">"}
_BIG = {b"II+\x00": "<", b"MM\x00+": ">"}
MAGICS = (*_CLASSIC, *_BIG)

# field type -> bytes per value (TIFF 6.0 + BigTIFF); unknown types are skipped, not guessed
_TYPE_SIZE = {
    **dict.fromkeys((1, 2, 6, 7), 1),  # BYTE, ASCII, SBYTE, UNDEFINED
    **dict.fromkeys((3, 8), 2),  # SHORT, SSHORT
    **dict.fromkeys((4, 9, 11, 13), 4),  # LONG, SLONG, FLOAT, IFD
    **dict.fromkeys((5, 10, 12, 16, 17, 18), 8),  # RATIONAL, SRATIONAL, DOUBLE, LONG8, SLONG8, IFD8
}
_INT_FORMAT = {1: "B", 3: "H", 4: "I", 16: "Q"}  # the unsigned integer types offsets and counts use
_STRIP_OFFSETS, _STRIP_BYTE_COUNTS = 273, 279
_TILE_OFFSETS, _TILE_BYTE_COUNTS = 324, 325
_MAX_SAMPLE_VALUE = 281


class TiffLayoutError(Exception):
    """The file does not hold the whole first image yet (or never will): the message says what is missing."""


@dataclass(frozen=True, slots=True)
class _Entry:
    tag: int
    type: int
    count: int
    value_at: int  # file offset of the value(s): inside the entry when they fit, else where it points


@dataclass(frozen=True, slots=True)
class TiffLayout:
    """The first IFD, checked to lie within the file with every value and every strip or tile it names."""

    order: str  # struct byte order, "<" or ">"
    entries: dict[int, _Entry]
    read: ByteReader

    def ints(self, tag: int) -> list[int] | None:
        """An unsigned integer field's values, or None if the IFD does not have it."""
        entry = self.entries.get(tag)
        if entry is None or entry.type not in _INT_FORMAT:
            return None
        code = _INT_FORMAT[entry.type]
        data = self.read(entry.value_at, entry.count * struct.calcsize(code))
        return list(struct.unpack(f"{self.order}{entry.count}{code}", data))

    def max_sample_value(self) -> int | None:
        """The MaxSampleValue field (the largest value a sample can take, e.g. 4095 for 12-bit data)."""
        values = self.ints(_MAX_SAMPLE_VALUE)
        return max(values) if values else None


def read_layout(read: ByteReader, size: int) -> TiffLayout:
    """Parse and bounds-check the first IFD; TiffLayoutError says which part lies beyond `size` bytes."""
    magic = read(0, 4)
    big = magic in _BIG
    order = (_BIG if big else _CLASSIC).get(magic)
    if order is None:
        raise TiffLayoutError(f"not a TIFF header ({magic!r})")
    header_size = 16 if big else 8
    header = read(0, header_size)
    if len(header) < header_size:
        raise TiffLayoutError(f"header needs {header_size} bytes, file has {size}")
    ifd_at = struct.unpack_from(f"{order}Q" if big else f"{order}I", header, 8 if big else 4)[0]
    if ifd_at == 0:  # libtiff writes the image data first and points the header at the IFD last
        raise TiffLayoutError(f"no image directory yet ({size} bytes)")
    count_code, entry_size, inline = ("Q", 20, 8) if big else ("H", 12, 4)
    count_size = struct.calcsize(count_code)
    head = read(ifd_at, count_size)
    if len(head) < count_size:
        raise TiffLayoutError(f"image directory at byte {ifd_at}, file has {size}")
    n = struct.unpack(f"{order}{count_code}", head)[0]
    ifd_end = ifd_at + count_size + n * entry_size + inline  # entries, then the next IFD's offset
    if ifd_end > size:
        raise TiffLayoutError(f"image directory ends at byte {ifd_end}, file has {size}")
    raw = read(ifd_at + count_size, n * entry_size)
    entries: dict[int, _Entry] = {}
    entry_format = f"{order}HHQ" if big else f"{order}HHI"
    for i in range(n):
        start = i * entry_size
        tag, kind, count = struct.unpack_from(entry_format, raw, start)
        value_start = start + entry_size - inline
        value_at = ifd_at + count_size + value_start
        length = count * _TYPE_SIZE.get(kind, 0)
        if length > inline:
            value_at = struct.unpack_from(f"{order}Q" if big else f"{order}I", raw, value_start)[0]
            if value_at + length > size:
                raise TiffLayoutError(f"field {tag} ends at byte {value_at + length}, file has {size}")
        entries[tag] = _Entry(tag, kind, count, value_at)
    layout = TiffLayout(order, entries, read)
    _check_blocks(layout, size)
    return layout


def _check_blocks(layout: TiffLayout, size: int) -> None:
    for what, offsets_tag, counts_tag in (
        ("strip", _STRIP_OFFSETS, _STRIP_BYTE_COUNTS),
        ("tile", _TILE_OFFSETS, _TILE_BYTE_COUNTS),
    ):
        offsets, counts = layout.ints(offsets_tag), layout.ints(counts_tag)
        if offsets is None:
            continue
        if counts is None or len(counts) != len(offsets):
            raise TiffLayoutError(f"{what} offsets without matching byte counts")
        for i, (offset, count) in enumerate(zip(offsets, counts, strict=True)):
            if offset + count > size:
                raise TiffLayoutError(f"{what} {i} ends at byte {offset + count}, file has {size}")
        return
    raise TiffLayoutError("no strip or tile offsets in the image directory")
