"""Detections for the tracker: a MOT ``det.txt``, or the ground truth's boxes without ids.

``--boxes-from-gt`` is SoccerNet tracking's own setting (every box given, identities
not): it measures association alone. Boxes of tracks that ``gameinfo.ini`` says are not
people (the ball) are left out, as the scoring leaves them out.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from footreid.core.errors import DataError
from footreid.track.mot import person_ids, read_gameinfo, read_mot_rows

Detections = dict[int, np.ndarray]  # frame -> (N, 5): x1, y1, x2, y2, confidence


def _by_frame(rows: np.ndarray) -> Detections:
    out: Detections = {}
    for frame in np.unique(rows["frame"]).tolist():
        r = rows[rows["frame"] == frame]
        boxes = np.column_stack([r["x"], r["y"], r["x"] + r["w"], r["y"] + r["h"], r["conf"]])
        out[int(frame)] = boxes.astype(np.float32)
    return out


def detections_from_gt(seq_dir: str | Path) -> Detections:
    """The people's ground-truth boxes of a MOT folder, ids dropped, confidence 1."""
    seq_dir = Path(seq_dir)
    rows = read_mot_rows(seq_dir / "gt" / "gt.txt")
    gameinfo_file = seq_dir / "gameinfo.ini"
    if gameinfo_file.is_file():
        rows = rows[np.isin(rows["track_id"], sorted(person_ids(read_gameinfo(seq_dir))))]
    rows = rows[rows["conf"] > 0]  # MOT marks ignored boxes with confidence 0
    rows["conf"] = 1.0
    return _by_frame(rows)


def detections_from_file(path: str | Path, min_confidence: float = 0.0) -> Detections:
    """A MOT detection file (``frame,-1,x,y,w,h,conf,...``), boxes under the confidence dropped."""
    rows = read_mot_rows(path, unique_ids=False)
    if len(rows) == 0:
        raise DataError(path, "no detections")
    return _by_frame(rows[rows["conf"] >= min_confidence])
