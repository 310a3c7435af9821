"""Crop images: cheap PNG header check, RGB loading, full decode and size comparison."""

from __future__ import annotations

from pathlib import Path

import pytest
from PIL import Image

from footreid.core.errors import DataError
from footreid.data.images import decode_all, load_image, png_header_size, verify_image


def png(path: Path, h: int = 6, w: int = 3, mode: str = "RGB") -> Path:
    Image.new(mode, (w, h), 128).save(path)
    return path


def truncated_png(path: Path) -> Path:
    """A PNG whose header is intact but whose pixel data is cut off."""
    full = tmp = png(path.with_suffix(".full.png"), 40, 30)
    data = full.read_bytes()
    tmp.unlink()
    path.write_bytes(data[: len(data) // 2])
    return path


def test_header_gives_height_and_width(tmp_path: Path) -> None:
    assert png_header_size(png(tmp_path / "a.png", 7, 5)) == (7, 5)


@pytest.mark.parametrize(
    ("content", "problem"),
    [
        (b"", "zero-byte PNG"),
        (b"GIF89a" + b"\0" * 40, "bad signature"),
        (b"\x89PNG\r\n\x1a\n\0\0", "truncated or missing IHDR"),
        (b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR" + b"\0" * 8, "0x0 pixels"),
    ],
)
def test_bad_headers_name_the_file(tmp_path: Path, content: bytes, problem: str) -> None:
    path = tmp_path / "bad.png"
    path.write_bytes(content)
    with pytest.raises(DataError, match=problem) as info:
        png_header_size(path)
    assert info.value.path == path


def test_missing_file_is_a_data_error(tmp_path: Path) -> None:
    with pytest.raises(DataError, match="cannot read"):
        png_header_size(tmp_path / "absent.png")
    with pytest.raises(DataError, match="not found"):
        load_image(tmp_path / "absent.png")


def test_load_image_converts_to_rgb(tmp_path: Path) -> None:
    image = load_image(png(tmp_path / "grey.png", 4, 2, mode="L"))
    assert image.mode == "RGB" and image.size == (2, 4)
    assert image.getpixel((0, 0)) == (128, 128, 128)


def test_large_jpeg_is_decoded_at_reduced_size_never_below_the_target(tmp_path: Path) -> None:
    from PIL import Image

    path = tmp_path / "big.jpg"
    Image.new("RGB", (400, 800), (200, 30, 40)).save(path, quality=95)
    assert load_image(path).size == (400, 800)
    reduced = load_image(path, (256, 128))
    assert reduced.size == (200, 400) and reduced.mode == "RGB"  # 1/2: 1/4 would be < 256
    assert load_image(png(tmp_path / "p.png", 800, 400), (256, 128)).size == (400, 800)


def test_truncated_png_passes_header_but_fails_decode(tmp_path: Path) -> None:
    path = truncated_png(tmp_path / "cut.png")
    assert png_header_size(path) == (40, 30)
    with pytest.raises(DataError, match="cannot decode") as info:
        verify_image(path)
    assert info.value.path == path
    with pytest.raises(DataError, match="cannot decode"):
        load_image(path)


def test_decode_all_counts_bad_and_size_mismatches(tmp_path: Path) -> None:
    good = png(tmp_path / "good.png", 6, 3)
    cut = truncated_png(tmp_path / "cut.png")
    crops = [(good, 6, 3), (good, 9, 3), (cut, 40, 30)]
    check = decode_all(crops, total=3, skip_bad=True, label="test")
    assert check.decoded == 2
    assert [p for p, _ in check.bad] == [cut]
    assert check.size_mismatches == [(good, "name says 9x3, image is 6x3")]
    with pytest.raises(DataError, match="cannot decode"):
        decode_all(crops, total=3, skip_bad=False, label="test")
