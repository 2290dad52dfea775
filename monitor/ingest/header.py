"""A frame's size as its header declares it, read without decoding the image: the loader refuses a frame
too large to decode (a decompression bomb) or of the wrong size before spending memory on it."""

import io
import warnings

from PIL import Image, UnidentifiedImageError


class HeaderTooLarge(Exception):
    """The header declares more pixels than Pillow even parses (about 179 million)."""


def declared_size(data: bytes) -> tuple[int, int] | None:
    """(width, height) from the header; None if Pillow cannot tell (the decoder then has its say).

    Pillow's lazy `Image.open` parses the header only. Its warning from 89 M pixels is silenced: the
    caller's bound, usually far lower, decides; beyond 179 M pixels Pillow refuses (HeaderTooLarge)."""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", Image.DecompressionBombWarning)
            with Image.open(io.BytesIO(data)) as image:
                return image.size
    except Image.DecompressionBombError as exc:
        raise HeaderTooLarge(str(exc)) from None
    except (UnidentifiedImageError, OSError, ValueError, SyntaxError):
        return None
