"""Every frame format the loader reads, written by real encoders (OpenCV, Pillow): decoded to the source
pixels (16-bit ones scaled to 8 bits), and each format's own check refusing a file that is not whole."""

import io
import struct
import zlib
from pathlib import Path

import cv2
import numpy as np
import pytest
from PIL import Image

from monitor.ingest.formats import file_is_whole, significant_bits
from monitor.ingest.loader import FrameError, NoFramesError, decode_frame, usable_frames

RNG = np.random.default_rng(7)
BGR = RNG.integers(0, 256, (24, 32, 3), np.uint8)  # noise: any decoding slip shows
GREY = BGR[:, :, 1].copy()
BGR16 = RNG.integers(0, 65536, (24, 32, 3), np.uint16)  # uses the full 16-bit range


def _cv2(image: np.ndarray, ext: str) -> bytes:
    ok, buf = cv2.imencode(ext, image)
    assert ok
    return buf.tobytes()


def _pillow(image: np.ndarray, fmt: str, **options: object) -> bytes:
    rgb = image[:, :, ::-1] if image.ndim == 3 else image  # Pillow wants RGB
    out = io.BytesIO()
    Image.fromarray(np.ascontiguousarray(rgb)).save(out, fmt, **options)
    return out.getvalue()


def _grey_bgr(grey: np.ndarray) -> np.ndarray:
    return np.dstack([grey, grey, grey])


def _with_png_sbit(png: bytes, bits: int) -> bytes:
    """The PNG with an sBIT chunk (significant bits) after IHDR, as a 12-bit camera's writer adds it."""
    ihdr_end = 8 + 4 + 4 + 13 + 4  # signature, then IHDR's length, type, data and CRC
    body = b"sBIT" + bytes([bits])
    return png[:ihdr_end] + struct.pack(">I", 1) + body + struct.pack(">I", zlib.crc32(body)) + png[ihdr_end:]


BGRA = np.dstack([BGR, np.full(GREY.shape, 90, np.uint8)])

# name -> (file bytes, the BGR image decode_frame must return)
SAMPLES: dict[str, tuple[bytes, np.ndarray]] = {
    "bmp-24bit": (_cv2(BGR, ".bmp"), BGR),
    "bmp-24bit-pillow": (_pillow(BGR, "BMP"), BGR),
    "bmp-grey": (_cv2(GREY, ".bmp"), _grey_bgr(GREY)),
    "bmp-bgra": (_cv2(BGRA, ".bmp"), BGR),
    "tiff-8bit": (_cv2(BGR, ".tiff"), BGR),
    "tiff-8bit-pillow-lzw": (_pillow(BGR, "TIFF", compression="tiff_lzw"), BGR),
    "tiff-8bit-pillow-strips": (_pillow(BGR, "TIFF"), BGR),
    "tiff-bigtiff-pillow": (_pillow(BGR, "TIFF", big_tiff=True), BGR),
    "tiff-grey": (_cv2(GREY, ".tiff"), _grey_bgr(GREY)),
    "tiff-bgra": (_cv2(BGRA, ".tiff"), BGR),
    "tiff-16bit": (_cv2(BGR16, ".tiff"), (BGR16 >> 8).astype(np.uint8)),
    "tiff-16bit-grey-pillow": (
        _pillow(BGR16[:, :, 0], "TIFF"),
        _grey_bgr((BGR16[:, :, 0] >> 8).astype(np.uint8)),
    ),
    "png-16bit": (_cv2(BGR16, ".png"), (BGR16 >> 8).astype(np.uint8)),
    "png-16bit-grey": (_cv2(BGR16[:, :, 2], ".png"), _grey_bgr((BGR16[:, :, 2] >> 8).astype(np.uint8))),
    "png-grey": (_cv2(GREY, ".png"), _grey_bgr(GREY)),
    "png-bgra": (_cv2(BGRA, ".png"), BGR),
}


@pytest.mark.parametrize("name", SAMPLES)
def test_each_format_decodes_to_the_source_as_8_bit_bgr(name: str) -> None:
    data, expected = SAMPLES[name]
    decoded = decode_frame(data, name=name)
    assert decoded.dtype == np.uint8
    assert decoded.shape == (24, 32, 3)
    assert np.array_equal(decoded, expected)


TWELVE_BIT = (np.arange(24 * 32, dtype=np.uint16).reshape(24, 32) * 5) % 4096  # 0..4095 in 16-bit samples


@pytest.mark.parametrize(
    ("data", "bits"),
    [
        (_with_png_sbit(_cv2(TWELVE_BIT, ".png"), 12), 12),
        (_pillow(TWELVE_BIT, "TIFF", tiffinfo={281: 4095}), 12),  # MaxSampleValue
        (_cv2(TWELVE_BIT, ".png"), None),
        (_cv2(TWELVE_BIT, ".tiff"), None),
    ],
    ids=["png-sbit-12", "tiff-maxsamplevalue-4095", "png-undeclared", "tiff-undeclared"],
)
def test_16_bit_samples_are_scaled_by_the_bits_the_file_declares(data: bytes, bits: int | None) -> None:
    """Declared 12-bit data keeps its brightness (>> 4); undeclared is taken as full 16-bit range (>> 8),
    never guessed from the pixel values."""
    assert significant_bits(data) == bits
    shift = (bits or 16) - 8
    decoded = decode_frame(data, name="f")
    assert np.array_equal(decoded, _grey_bgr((TWELVE_BIT >> shift).astype(np.uint8)))


# --- files that are not whole ----------------------------------------------------------------------------


def test_truncated_bmp_message_gives_both_sizes() -> None:
    data, _ = SAMPLES["bmp-24bit"]
    with pytest.raises(FrameError) as info:
        decode_frame(data[:-1], name="0110.bmp")
    assert (
        str(info.value) == f"0110.bmp: truncated BMP: header says {len(data)} bytes, file has {len(data) - 1}"
    )


def test_bmp_with_a_zero_file_size_field_is_checked_by_its_pixel_rows() -> None:
    data, _ = SAMPLES["bmp-24bit"]
    unsized = data[:2] + bytes(4) + data[6:]  # some writers leave bfSize 0
    assert np.array_equal(decode_frame(unsized, name="f"), BGR)
    with pytest.raises(FrameError, match=f"truncated BMP: header says {len(data)} bytes, file has 100$"):
        decode_frame(unsized[:100], name="f")


@pytest.mark.parametrize(
    ("name", "cut", "message"),
    [
        ("bmp-24bit", 10, "truncated BMP: 10 bytes, shorter than its header"),
        ("bmp-24bit", "half", "truncated BMP: header says"),
        ("tiff-8bit", "half", "truncated TIFF: image directory at byte"),  # OpenCV writes the IFD last
        ("tiff-8bit", -1, "truncated TIFF: "),
        ("tiff-8bit-pillow-strips", "half", "truncated TIFF: strip 0 ends at byte"),  # Pillow writes it first
        ("tiff-bigtiff-pillow", "half", "truncated TIFF: "),
        ("tiff-16bit", "half", "truncated TIFF: image directory at byte"),
        ("png-16bit", "half", "truncated PNG"),
        ("png-grey", -1, "truncated PNG"),
    ],
)
def test_truncated_files_raise_their_formats_error(name: str, cut: int | str, message: str) -> None:
    data, _ = SAMPLES[name]
    end = len(data) // 2 if cut == "half" else cut
    with pytest.raises(FrameError, match=f"^f: {message}"):
        decode_frame(data[:end], name="f")


def test_a_tiff_whose_header_does_not_point_at_its_directory_yet_is_not_whole() -> None:
    data, _ = SAMPLES["tiff-8bit"]
    pending = data[:4] + bytes(4) + data[8:]  # libtiff fills in the IFD offset last
    with pytest.raises(FrameError, match="truncated TIFF: no image directory yet"):
        decode_frame(pending, name="f")


@pytest.mark.parametrize("name", ["bmp-24bit", "bmp-grey", "tiff-8bit", "tiff-8bit-pillow-lzw", "png-16bit"])
def test_no_prefix_of_a_file_passes_as_whole(tmp_path: Path, name: str) -> None:
    """Wherever a writer stops, the check says so: on bytes (the loader) and on the file (the watcher)."""
    data, _ = SAMPLES[name]
    path = tmp_path / "f"
    for end in range(1, len(data), 7):
        with pytest.raises(FrameError):
            decode_frame(data[:end], name="f")
        path.write_bytes(data[:end])
        assert not file_is_whole(path), end
    path.write_bytes(data)
    assert file_is_whole(path)


def test_a_file_of_no_known_format_counts_as_whole_for_the_watcher(tmp_path: Path) -> None:
    path = tmp_path / "0110.bmp"
    path.write_bytes(b"GIF89a" + bytes(50))
    assert file_is_whole(path)  # the loader then says what it is
    assert not file_is_whole(tmp_path / "missing.bmp")


# --- usable_frames ---------------------------------------------------------------------------------------


def test_an_empty_folder_has_no_usable_frames_and_names_the_formats(tmp_path: Path) -> None:
    (tmp_path / "notes.txt").write_text("no frames here")
    with pytest.raises(NoFramesError) as info:
        usable_frames(tmp_path)
    assert str(info.value) == f"{tmp_path}: no frame files (looked for jpg/jpeg/png/bmp/tif/tiff)"


def test_a_folder_of_undecodable_frames_has_no_usable_frames(tmp_path: Path) -> None:
    data, _ = SAMPLES["bmp-24bit"]
    (tmp_path / "0110.bmp").write_bytes(data[:-1])
    (tmp_path / "0111.bmp").write_bytes(b"not an image")
    with pytest.raises(NoFramesError) as info:
        usable_frames(tmp_path)
    assert str(info.value) == (
        f"{tmp_path}: none of the 2 frame files decodes (first: 0110.bmp: truncated BMP: "
        f"header says {len(data)} bytes, file has {len(data) - 1})"
    )


def test_one_good_frame_makes_a_folder_usable_and_every_frame_is_listed(tmp_path: Path) -> None:
    (tmp_path / "0110.bmp").write_bytes(b"broken")
    (tmp_path / "0111.bmp").write_bytes(SAMPLES["bmp-24bit"][0])
    (tmp_path / "0112.tif").write_bytes(SAMPLES["tiff-8bit"][0])
    assert [p.name for p in usable_frames(tmp_path)] == ["0110.bmp", "0111.bmp", "0112.tif"]


def test_frames_of_the_wrong_size_are_not_usable(tmp_path: Path) -> None:
    (tmp_path / "0110.bmp").write_bytes(SAMPLES["bmp-24bit"][0])
    with pytest.raises(NoFramesError, match="wrong size 32x24, expected 320x240"):
        usable_frames(tmp_path, size=(320, 240))
