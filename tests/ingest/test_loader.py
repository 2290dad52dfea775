"""Frame files: decoding JPEG and PNG (the other formats: test_formats.py), precise errors for unusable
files, run order, time from the name."""

from pathlib import Path

import cv2
import numpy as np
import pytest

from monitor.ingest.loader import FrameError, decode_frame, list_frames, load_frame, time_from_name
from monitor.records import Frame


def _image(width: int, height: int) -> np.ndarray:
    # smooth colour gradients: JPEG keeps them close to the source
    y, x = np.mgrid[0:height, 0:width]
    image = np.dstack([x * 255 // width, y * 255 // height, (x + y) * 255 // (width + height)]).astype(
        np.uint8
    )
    cv2.putText(image, "548", (10, height // 2), cv2.FONT_HERSHEY_SIMPLEX, 1.0, (255, 255, 255), 2)
    return image


def _encode(image: np.ndarray, ext: str) -> bytes:
    ok, buf = cv2.imencode(ext, image)
    assert ok
    return buf.tobytes()


@pytest.fixture(scope="module")
def image() -> np.ndarray:
    return _image(320, 240)


@pytest.fixture(scope="module")
def jpeg(image: np.ndarray) -> bytes:
    return _encode(image, ".jpg")


@pytest.fixture(scope="module")
def png(image: np.ndarray) -> bytes:
    return _encode(image, ".png")


# --- decode_frame ----------------------------------------------------------------------------------------


def test_jpeg_decodes_to_bgr_of_the_right_shape(jpeg: bytes, image: np.ndarray) -> None:
    decoded = decode_frame(jpeg, name="0548.jpg")
    assert decoded.shape == (240, 320, 3)
    assert decoded.dtype == np.uint8
    # lossy, but close to the source
    assert np.abs(decoded.astype(int) - image.astype(int)).mean() < 8


def test_png_decodes_exactly(png: bytes, image: np.ndarray) -> None:
    decoded = decode_frame(png, name="0548.png")
    assert decoded.shape == (240, 320, 3)
    assert np.array_equal(decoded, image)


def test_grey_png_is_decoded_as_three_channels() -> None:
    grey = np.full((48, 64), 128, np.uint8)
    decoded = decode_frame(_encode(grey, ".png"), name="grey.png")
    assert decoded.shape == (48, 64, 3)


@pytest.mark.parametrize("fmt", ["jpeg", "png"])
def test_right_size_is_accepted(request: pytest.FixtureRequest, fmt: str) -> None:
    data = request.getfixturevalue(fmt)
    assert decode_frame(data, name="f", size=(320, 240)).shape == (240, 320, 3)


def _half(data: bytes) -> bytes:
    return data[: len(data) // 2]


@pytest.mark.parametrize(
    ("make", "size", "message"),
    [
        (lambda jpeg, png: b"", None, "0110.jpg: empty file"),
        (lambda jpeg, png: _half(jpeg), None, "0110.jpg: truncated JPEG"),
        (lambda jpeg, png: jpeg[:-2], None, "0110.jpg: truncated JPEG"),
        (lambda jpeg, png: _half(png), None, "0110.jpg: truncated PNG"),
        (lambda jpeg, png: png[:-12], None, "0110.jpg: truncated PNG"),
        (lambda jpeg, png: b"time,t1,t2\n110,900,1142\n", None, "0110.jpg: not a JPEG, PNG, BMP or TIFF"),
        (lambda jpeg, png: b"GIF89a" + bytes(100), None, "0110.jpg: not a JPEG, PNG, BMP or TIFF"),
        (lambda jpeg, png: b"\xff\xd8" + bytes(100) + b"\xff\xd9", None, "could not be decoded"),
        (lambda jpeg, png: jpeg, (1024, 768), "0110.jpg: wrong size 320x240, expected 1024x768"),
        (lambda jpeg, png: png, (320, 241), "0110.jpg: wrong size 320x240, expected 320x241"),
    ],
    ids=[
        "empty",
        "jpeg-half",
        "jpeg-no-eoi",
        "png-half",
        "png-no-iend",
        "text",
        "gif",
        "jpeg-garbage",
        "jpeg-wrong-size",
        "png-wrong-size",
    ],
)
def test_bad_frame_raises_a_precise_frame_error(
    jpeg: bytes, png: bytes, make, size: tuple[int, int] | None, message: str
) -> None:
    with pytest.raises(FrameError, match=message.replace("(", r"\(")):
        decode_frame(make(jpeg, png), name="0110.jpg", size=size)


def test_truncated_jpeg_message_gives_the_byte_count(jpeg: bytes) -> None:
    data = _half(jpeg)
    with pytest.raises(FrameError) as info:
        decode_frame(data, name="x.jpg")
    assert str(info.value) == f"x.jpg: truncated JPEG (no end-of-image marker; {len(data)} bytes)"


def test_not_an_image_message_never_quotes_the_contents() -> None:
    # a link or a stray file may hold anything (a password file): its bytes must not reach a flag or a log
    with pytest.raises(FrameError) as info:
        decode_frame(b"root:x:0:0:secret", name="x.jpg")
    assert str(info.value) == "x.jpg: not a JPEG, PNG, BMP or TIFF image"


# --- load_frame ------------------------------------------------------------------------------------------


def test_load_frame_reads_and_decodes(tmp_path: Path, jpeg: bytes) -> None:
    path = tmp_path / "0548.jpg"
    path.write_bytes(jpeg)
    frame = load_frame(path, 7, size=(320, 240))
    assert isinstance(frame, Frame)
    assert frame.path == path
    assert frame.name == "0548.jpg"
    assert frame.index == 7
    assert frame.image.shape == (240, 320, 3)


@pytest.mark.parametrize(
    ("content", "size", "message"),
    [
        (b"", None, "0110.jpg: empty file"),
        ("half-jpeg", None, "0110.jpg: truncated JPEG"),
        (b"not an image", None, "0110.jpg: not a JPEG, PNG, BMP or TIFF"),
        ("jpeg", (1024, 768), "0110.jpg: wrong size 320x240"),
    ],
)
def test_load_frame_reports_bad_files(
    tmp_path: Path, jpeg: bytes, content: bytes | str, size: tuple[int, int] | None, message: str
) -> None:
    data = (
        {"half-jpeg": _half(jpeg), "jpeg": jpeg}.get(content, content)
        if isinstance(content, str)
        else content
    )
    path = tmp_path / "0110.jpg"
    path.write_bytes(data)
    with pytest.raises(FrameError, match=message):
        load_frame(path, 0, size=size)


def test_load_frame_of_a_missing_file_is_a_frame_error(tmp_path: Path) -> None:
    with pytest.raises(FrameError, match=r"0110\.jpg: cannot read"):
        load_frame(tmp_path / "0110.jpg", 0)


def test_load_frame_of_a_folder_is_a_frame_error(tmp_path: Path) -> None:
    folder = tmp_path / "0110.jpg"
    folder.mkdir()
    with pytest.raises(FrameError, match=r"0110\.jpg: cannot read"):
        load_frame(folder, 0)


# --- list_frames -----------------------------------------------------------------------------------------


@pytest.fixture
def run_folder(tmp_path: Path) -> Path:
    folder = tmp_path / "run"
    folder.mkdir()
    for name in [
        "100.jpg",
        "99.jpg",
        "0110.jpg",
        "1000.png",
        "101.JPG",
        "102.jpeg",
        "103.bmp",
        "104.TIF",
        "105.tiff",
        "snapshot.jpg",
        "after.png",
        ".0110.jpg.tmp",
        ".0111.jpg",
        "0112.jpg.tmp",
        "truth.csv",
        "events.json",
        "notes.txt",
        "0113.gif",
    ]:
        (folder / name).write_bytes(b"x")
    return folder


def test_list_frames_sorts_numeric_names_by_number_then_others_by_name(run_folder: Path) -> None:
    names = [p.name for p in list_frames(run_folder)]
    assert names == [
        "99.jpg",
        "100.jpg",
        "101.JPG",
        "102.jpeg",
        "103.bmp",
        "104.TIF",
        "105.tiff",
        "0110.jpg",
        "1000.png",
        "after.png",
        "snapshot.jpg",
    ]


def test_list_frames_ignores_dotfiles_temp_files_and_other_files(run_folder: Path) -> None:
    names = {p.name for p in list_frames(run_folder)}
    assert names.isdisjoint(
        {".0110.jpg.tmp", ".0111.jpg", "0112.jpg.tmp", "truth.csv", "events.json", "notes.txt", "0113.gif"}
    )


def test_list_frames_returns_paths_in_the_folder(run_folder: Path) -> None:
    assert all(p.parent == run_folder and p.is_file() for p in list_frames(run_folder))


def test_list_frames_of_an_empty_folder_is_empty(tmp_path: Path) -> None:
    assert list_frames(tmp_path) == []


@pytest.mark.parametrize("kind", ["missing", "file"])
def test_list_frames_of_a_missing_folder_raises(tmp_path: Path, kind: str) -> None:
    path = tmp_path / "nowhere"
    if kind == "file":
        path.write_text("not a folder")
    with pytest.raises(FileNotFoundError, match="is not a folder of frames"):
        list_frames(path)


# --- time_from_name --------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("0548.jpg", 548),
        ("548.png", 548),
        ("110.JPG", 110),
        ("0000.jpg", 0),
        ("99.jpeg", 99),
        ("frame_548.jpg", None),
        ("548a.jpg", None),
        ("548", None),
        ("548.jpg.tmp", None),
        (".0548.jpg", None),
        ("-5.jpg", None),
        ("", None),
    ],
)
def test_time_from_name(name: str, expected: int | None) -> None:
    assert time_from_name(name) == expected
