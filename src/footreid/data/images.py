"""Crop images: a cheap PNG header check for the tree walk, loading and full validation.

The walk over the 340,993 SoccerNet crops reads only the first 24 bytes of each file
(signature + IHDR size); decoding every image is left to an explicit validation step
(``footreid data-info``), where it costs about a millisecond per crop.
"""

from __future__ import annotations

import struct
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

from PIL import Image

from footreid.core.errors import DataError
from footreid.core.log import track

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
_HEADER_BYTES = 24  # signature (8) + chunk length (4) + b"IHDR" (4) + width (4) + height (4)
_PIL_ERRORS = (OSError, SyntaxError, ValueError, Image.DecompressionBombError)
_FIX = "re-extract the split (footreid download ROOT --unzip-only) or delete the file"


def png_header_size(path: str | Path) -> tuple[int, int]:
    """Check the PNG signature and header of a file without decoding it.

    Args:
        path: a crop file.

    Returns:
        (height, width) in pixels, as stored in the IHDR chunk.

    Raises:
        DataError: unreadable, zero-byte, not a PNG, or a truncated header.
    """
    try:
        with open(path, "rb", buffering=0) as handle:
            head = handle.read(_HEADER_BYTES)
    except OSError as exc:
        raise DataError(path, f"cannot read the file ({exc.strerror or exc})") from None
    if not head:
        raise DataError(path, f"zero-byte PNG; {_FIX}")
    if head[:8] != PNG_SIGNATURE:
        raise DataError(path, f"not a PNG file (bad signature); {_FIX}")
    if len(head) < _HEADER_BYTES or head[12:16] != b"IHDR":
        raise DataError(path, f"corrupt PNG (truncated or missing IHDR header); {_FIX}")
    width, height = struct.unpack(">II", head[16:24])
    if width == 0 or height == 0:
        raise DataError(path, f"corrupt PNG (header says {height}x{width} pixels); {_FIX}")
    return height, width


def load_image(path: str | Path, min_size: tuple[int, int] | None = None) -> Image.Image:
    """Decode a crop as an RGB image, at reduced size where the format allows it.

    Args:
        path: a PNG (or any format Pillow reads).
        min_size: (H, W) the image will be resized to, or None for full size. A JPEG at
            least twice as large in both sides is decoded at 1/2, 1/4 or 1/8 scale (its
            DCT allows it: Pillow's ``draft``), never below ``min_size``, so the resize
            after it has less to do; other formats (PNG) are decoded in full.

    Returns:
        The fully loaded RGB image (H x W x 3 uint8 once converted to an array).

    Raises:
        DataError: missing, empty or corrupt file, naming it.
    """
    try:
        with Image.open(path) as image:
            if min_size is not None and image.format == "JPEG":
                image.draft("RGB", (int(min_size[1]), int(min_size[0])))
            return image.convert("RGB")
    except FileNotFoundError:
        raise DataError(path, "image file not found") from None
    except _PIL_ERRORS as exc:
        raise DataError(path, f"cannot decode the image ({exc}); {_FIX}") from None


def verify_image(path: str | Path) -> tuple[int, int]:
    """Decode every pixel of an image to prove it is intact.

    Returns:
        (height, width) in pixels.

    Raises:
        DataError: the file cannot be fully decoded.
    """
    try:
        with Image.open(path) as image:
            image.load()
            return image.height, image.width
    except FileNotFoundError:
        raise DataError(path, "image file not found") from None
    except _PIL_ERRORS as exc:
        raise DataError(path, f"cannot decode the image ({exc}); {_FIX}") from None


@dataclass
class DecodeCheck:
    """Result of decoding a list of crops.

    Attributes:
        decoded: number of crops decoded without error.
        bad: (path, problem) of each crop that failed to decode.
        size_mismatches: (path, problem) where the decoded size differs from the
            ``HxW`` field of the file name (reported, not an error).
    """

    decoded: int = 0
    bad: list[tuple[Path, str]] = field(default_factory=list)
    size_mismatches: list[tuple[Path, str]] = field(default_factory=list)


def decode_all(
    crops: Iterable[tuple[Path, int, int]], *, total: int | None, skip_bad: bool, label: str
) -> DecodeCheck:
    """Fully decode each crop and compare its size with its name.

    Args:
        crops: (path, height, width) with the size written in each file name.
        total: number of crops (for the progress bar).
        skip_bad: collect undecodable crops instead of raising on the first.
        label: progress-bar description.

    Returns:
        A :class:`DecodeCheck`.

    Raises:
        DataError: the first undecodable crop, when ``skip_bad`` is False.
    """
    check = DecodeCheck()
    for path, height, width in track(crops, f"decoding {label}", total=total):
        try:
            size = verify_image(path)
        except DataError as exc:
            if not skip_bad:
                raise
            check.bad.append((path, exc.problem))
            continue
        check.decoded += 1
        if size != (height, width):
            check.size_mismatches.append(
                (path, f"name says {height}x{width}, image is {size[0]}x{size[1]}")
            )
    return check
