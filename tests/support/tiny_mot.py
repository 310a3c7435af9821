"""A 10-frame MOT sequence for tracking tests: players 1 and 2 in every frame, the ball (id 3)."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from footreid.track.mot import rows_from_columns, write_mot_rows

LENGTH = 10
BALL_ID = 3
GAMEINFO = (
    "[Sequence]\nname=S\ntrackletID_1= player team left;4\n"
    "trackletID_2= player team right;9\ntrackletID_3= ball;1\n"
)


def moving_rows(track_id: int, x: float, frames: range) -> np.ndarray:
    """One 30x80 box per frame, moving 2 px right per frame."""
    return rows_from_columns([[f, track_id, x + 2 * f, 100, 30, 80, 1] for f in frames])


def people_rows(frames: range = range(1, LENGTH + 1)) -> np.ndarray:
    """The two players (ids 1 and 2, 300 px apart) on ``frames``."""
    return np.concatenate([moving_rows(1, 0, frames), moving_rows(2, 300, frames)])


def ball_rows(length: int = LENGTH) -> np.ndarray:
    return rows_from_columns([[f, BALL_ID, 150, 200, 8, 8, 1] for f in range(1, length + 1)])


def frame_width(length: int) -> int:
    """Wide enough for player 2 (starting at x=300, 2 px per frame) to stay in the frame."""
    return max(640, 2 * length + 400)


def write_tiny_sequence(root: Path, length: int = LENGTH) -> Path:
    """``root`` with seqinfo.ini, gameinfo.ini and gt/gt.txt (players and ball)."""
    (root / "gt").mkdir(parents=True)
    (root / "seqinfo.ini").write_text(
        f"[Sequence]\nname=S\nframeRate=25\nseqLength={length}\n"
        f"imWidth={frame_width(length)}\nimHeight=360\n"
    )
    (root / "gameinfo.ini").write_text(GAMEINFO)
    rows = np.concatenate([people_rows(range(1, length + 1)), ball_rows(length)])
    write_mot_rows(root / "gt" / "gt.txt", rows)
    return root


KITS = {1: (40, 40, 220), 2: (220, 60, 40)}  # BGR: player 1 red, player 2 blue


def write_tiny_frames(root: Path, length: int = LENGTH) -> Path:
    """``root/img1/000001.jpg``...: a green pitch with the two players as kit-coloured boxes."""
    import cv2

    (root / "img1").mkdir(parents=True, exist_ok=True)
    rows = people_rows(range(1, length + 1))
    for frame in range(1, length + 1):
        image = np.full((360, frame_width(length), 3), (60, 140, 60), dtype=np.uint8)
        for r in rows[rows["frame"] == frame]:
            x, y, w, h = (int(r[k]) for k in ("x", "y", "w", "h"))
            image[y : y + h, x : x + w] = KITS[int(r["track_id"])]
            image[y : y + h // 4, x : x + w] = (150, 180, 220)  # a face-coloured head
        cv2.imwrite(str(root / "img1" / f"{frame:06d}.jpg"), image)
    return root
