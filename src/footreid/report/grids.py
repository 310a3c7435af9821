"""Ranked-result grids: each row is a query, then the top-k crops of its own action.

Borders: blue for the query, green for a crop of the same person, red for another
person. Under each crop: its rank and distance. Crops are letter-boxed into equal tiles
(aspect kept) so tall and wide crops compare at a glance.
"""

from __future__ import annotations

import io
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

from PIL import Image, ImageDraw, ImageFont

from footreid.core.log import get_logger

log = get_logger(__name__)

TILE_H, TILE_W = 128, 64
BORDER = 4
CAPTION_H = 28
LABEL_W = 150
GAP = 6
QUERY_COLOUR = (31, 119, 180)
MATCH_COLOUR = (44, 160, 44)
WRONG_COLOUR = (214, 39, 40)
BACKGROUND = (255, 255, 255)


@dataclass
class GridRow:
    """One query and its ranked same-action crops.

    Attributes:
        label: text left of the row (e.g. "query 812 · action 40 · AP 0.50").
        query_image: file of the query crop.
        images: files of the top-k gallery crops, best first.
        matches: same length as ``images``, True for the query's person.
        distances: same length, lower is closer.
    """

    label: str
    query_image: Path
    images: Sequence[Path]
    matches: Sequence[bool]
    distances: Sequence[float]


def _font(size: int) -> ImageFont.ImageFont:
    return ImageFont.load_default(size=size)


def _tile(path: Path, colour: tuple[int, int, int], opener: Callable[[Path], Image.Image]):
    """A (TILE_H + 2 BORDER) x (TILE_W + 2 BORDER) tile: the crop letter-boxed, framed."""
    tile = Image.new("RGB", (TILE_W + 2 * BORDER, TILE_H + 2 * BORDER), colour)
    inner = Image.new("RGB", (TILE_W, TILE_H), (235, 235, 235))
    try:
        crop = opener(path)
    except Exception as exc:  # a missing or broken crop is drawn as such, and logged
        log.warning("cannot draw %s in the grid: %s", path, exc)
        ImageDraw.Draw(inner).text((4, TILE_H // 2 - 6), "missing", fill=(90, 90, 90))
    else:
        crop.thumbnail((TILE_W, TILE_H), Image.Resampling.BILINEAR)
        inner.paste(crop, ((TILE_W - crop.width) // 2, (TILE_H - crop.height) // 2))
    tile.paste(inner, (BORDER, BORDER))
    return tile


def _open_rgb(path: Path) -> Image.Image:
    with Image.open(path) as img:
        return img.convert("RGB")


def draw_grid(
    rows: Sequence[GridRow],
    title: str,
    top_k: int = 10,
    opener: Callable[[Path], Image.Image] = _open_rgb,
) -> bytes:
    """Draw ranked rows into one PNG.

    Args:
        rows: the queries to show, top to bottom.
        title: text above the grid.
        top_k: gallery crops per row (fewer when an action's gallery is shorter).
        opener: reads a crop file as an RGB image.

    Returns:
        PNG bytes.
    """
    tile_w, tile_h = TILE_W + 2 * BORDER, TILE_H + 2 * BORDER
    row_h = tile_h + CAPTION_H + GAP
    width = LABEL_W + (top_k + 1) * (tile_w + GAP) + GAP + 8
    height = 34 + max(1, len(rows)) * row_h
    canvas = Image.new("RGB", (width, height), BACKGROUND)
    draw = ImageDraw.Draw(canvas)
    draw.text((GAP, 8), title, fill=(0, 0, 0), font=_font(16))
    small = _font(11)
    for r, row in enumerate(rows):
        y = 34 + r * row_h
        for i, part in enumerate(_wrap(row.label, 22)):
            draw.text((GAP, y + 8 + 15 * i), part, fill=(0, 0, 0), font=small)
        x = LABEL_W
        canvas.paste(_tile(row.query_image, QUERY_COLOUR, opener), (x, y))
        draw.text((x + 2, y + tile_h + 2), "query", fill=QUERY_COLOUR, font=small)
        x += tile_w + 3 * GAP
        shown = list(zip(row.images, row.matches, row.distances, strict=True))[:top_k]
        for rank, (path, match, dist) in enumerate(shown, start=1):
            colour = MATCH_COLOUR if match else WRONG_COLOUR
            canvas.paste(_tile(Path(path), colour, opener), (x, y))
            draw.text((x + 2, y + tile_h + 2), f"#{rank}", fill=colour, font=small)
            draw.text((x + 2, y + tile_h + 14), f"d={dist:.3f}", fill=(60, 60, 60), font=small)
            x += tile_w + GAP
    buffer = io.BytesIO()
    canvas.save(buffer, format="PNG", optimize=True)
    return buffer.getvalue()


def _wrap(text: str, width: int) -> list[str]:
    """Split ``text`` on " · " separators into lines of at most about ``width`` chars."""
    lines: list[str] = []
    for part in text.split(" · "):
        if lines and len(lines[-1]) + len(part) + 3 <= width:
            lines[-1] += " · " + part
        else:
            lines.append(part)
    return lines
