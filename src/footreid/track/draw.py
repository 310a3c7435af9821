"""A strip of frames with each box's id drawn: what a reader checks a tracking run by."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np

from footreid.core.io import atomic_write
from footreid.track.video import FrameSource, read_frames


def _colour(identity: int) -> tuple[int, int, int]:
    """A stable, well separated BGR colour per id (golden-ratio hue steps)."""
    import cv2

    hue = int((identity * 0.618033988749895 % 1.0) * 179)
    hsv = np.uint8([[[hue, 220, 255]]])
    return tuple(int(c) for c in cv2.cvtColor(hsv, cv2.COLOR_HSV2BGR)[0, 0])


def draw_frame(image: np.ndarray, rows: np.ndarray) -> np.ndarray:
    """``image`` with the (frame, id, x, y, w, h, ...) ``rows`` drawn as boxes and ids."""
    import cv2

    out = image.copy()
    for _, identity, x, y, w, h in rows[:, :6]:
        colour, ident = _colour(int(identity)), str(int(identity))
        cv2.rectangle(out, (int(x), int(y)), (int(x + w), int(y + h)), colour, 2)
        cv2.putText(out, ident, (int(x), int(y) - 4), cv2.FONT_HERSHEY_SIMPLEX, 0.7, colour, 2)
    return out


def draw_strip(
    source: FrameSource,
    rows: np.ndarray,
    frames: Sequence[int],
    path: str | Path,
    width: int = 640,
    columns: int = 0,
) -> Path:
    """Write ``frames`` (each ``width`` px wide, numbered) as a JPEG grid.

    ``columns``: tiles per row (0: all in one row); a short last row is padded black.
    """
    import cv2

    tiles = []
    for number, image in read_frames(source, sorted(frames)):
        tile = draw_frame(image, rows[rows[:, 0] == number])
        tile = cv2.resize(tile, (width, round(tile.shape[0] * width / tile.shape[1])))
        cv2.putText(
            tile, f"frame {number}", (8, 28), cv2.FONT_HERSHEY_SIMPLEX, 0.9, (255, 255, 255), 2
        )
        tiles.append(tile)
    columns = columns or len(tiles)
    tiles += [np.zeros_like(tiles[0])] * (-len(tiles) % columns)
    grid = np.concatenate(
        [np.concatenate(tiles[i : i + columns], axis=1) for i in range(0, len(tiles), columns)]
    )
    ok, encoded = cv2.imencode(".jpg", grid, [cv2.IMWRITE_JPEG_QUALITY, 80])
    if not ok:
        raise RuntimeError("OpenCV could not encode the strip as JPEG")
    data = encoded.tobytes()
    with atomic_write(path, "wb", size=len(data)) as handle:
        handle.write(data)
    return Path(path)


AFTER_CUT = 5  # trackers confirm a new track after a few frames: show the sixth


def strip_frames(frames: Sequence[int], cuts: Sequence[int], count: int = 4) -> list[int]:
    """Frames worth showing: the last before each cut (positions in ``frames``) and the
    sixth after it, else ``count`` evenly spaced ones."""
    if cuts:
        last = len(frames) - 1
        return sorted({frames[min(c + d, last)] for c in cuts for d in (-1, AFTER_CUT)})
    picks = np.linspace(0, len(frames) - 1, min(count, len(frames))).round().astype(int)
    return sorted({frames[i] for i in picks})
