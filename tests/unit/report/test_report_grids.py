"""Ranked-result grids: borders say correct / incorrect, missing crops are drawn as such."""

from __future__ import annotations

import io
from pathlib import Path

import numpy as np
from PIL import Image

from footreid.report.grids import (
    BORDER,
    LABEL_W,
    MATCH_COLOUR,
    QUERY_COLOUR,
    TILE_W,
    WRONG_COLOUR,
    GridRow,
    draw_grid,
)


def _crop(path: Path, colour: tuple[int, int, int]) -> Path:
    Image.new("RGB", (30, 70), colour).save(path)
    return path


def test_grid_borders_follow_matches(tmp_path: Path) -> None:
    query = _crop(tmp_path / "q.png", (200, 0, 0))
    gallery = [_crop(tmp_path / f"g{i}.png", (0, 0, 200)) for i in range(3)]
    row = GridRow(
        "query 1 · action 2 · AP 0.50", query, gallery, [False, True, False], [0.1, 0.2, 0.3]
    )
    img = np.asarray(Image.open(io.BytesIO(draw_grid([row, row], "title", top_k=3))))
    y = 34 + 1  # first row, inside the top border
    tile = TILE_W + 2 * BORDER
    assert tuple(img[y, LABEL_W + 1]) == QUERY_COLOUR
    first = LABEL_W + tile + 3 * 6
    assert tuple(img[y, first + 1]) == WRONG_COLOUR
    assert tuple(img[y, first + tile + 6 + 1]) == MATCH_COLOUR
    assert img.shape[0] > 2 * (128 + 2 * BORDER)


def test_grid_with_missing_crop_and_short_gallery(tmp_path: Path) -> None:
    row = GridRow(
        "q", tmp_path / "absent.png", [_crop(tmp_path / "g.png", (9, 9, 9))], [True], [0.0]
    )
    png = draw_grid([row], "t", top_k=10)
    assert Image.open(io.BytesIO(png)).format == "PNG"
