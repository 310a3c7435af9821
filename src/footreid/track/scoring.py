"""Score tracks against a MOT sequence's ground truth with TrackEval's own metric classes.

TrackEval's ``HOTA``, ``CLEAR``, ``Identity`` and ``Count`` run on the per-frame ids
and IoU similarities built here (what its ``MotChallenge2DBox`` dataset hands them),
which spares the temporary folder layout, seqmap and output files the dataset route
needs; a test checks both routes agree. The protocol is SoccerNet's tracking evaluation
(MOTChallenge with preprocessing off) with one change the sequence's README asks for:

* gt rows of ids that are not people in ``gameinfo.ini`` (the ball) are dropped, as are
  gt rows with ``conf`` 0 (MOTChallenge's zero-marked boxes; TrackEval drops them too);
* predictions are scored as they are: nothing is matched away, so a tracker that
  follows the ball pays for it in false positives;
* with ``frames`` (the cuts protocol) both sides keep only those frames, which form the
  sequence's time steps in order; predicted rows on other frames are dropped and counted.
"""

from __future__ import annotations

import contextlib
import io
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np

from footreid.core.errors import DataError, MissingDependencyError
from footreid.track.mot import (
    as_rows,
    check_unique_ids,
    person_ids,
    read_gameinfo,
    read_mot_rows,
    read_seqinfo,
)

# the similarity is box IoU (x, y, w, h); TrackEval's matching thresholds are its defaults
BOX_FORMAT = "xywh"


@dataclass(frozen=True)
class TrackScores:
    """TrackEval's summary of one sequence. Ratios are fractions in [0, 1].

    Attributes:
        hota, deta, assa, loca: HOTA and its detection / association / localisation
            parts, each averaged over TrackEval's 19 IoU thresholds (0.05 ... 0.95).
        idf1, idp, idr: identity F1, precision and recall (IoU >= 0.5).
        mota, motp: CLEAR MOT accuracy and precision.
        id_switches, fragmentations: CLEAR counts.
        num_pred_ids, num_gt_ids: distinct ids scored on each side.
        num_pred_rows, num_gt_rows: boxes scored on each side.
        num_frames: time steps scored.
        dropped_gt_ids: gt ids dropped as not people (sorted).
        dropped_pred_rows: predicted rows on frames outside ``frames``.
    """

    hota: float
    deta: float
    assa: float
    loca: float
    idf1: float
    idp: float
    idr: float
    mota: float
    motp: float
    id_switches: int
    fragmentations: int
    num_pred_ids: int
    num_gt_ids: int
    num_pred_rows: int
    num_gt_rows: int
    num_frames: int
    dropped_gt_ids: tuple[int, ...]
    dropped_pred_rows: int

    def as_dict(self) -> dict[str, Any]:
        """Plain JSON-ready values (``dropped_gt_ids`` as a list)."""
        out = asdict(self)
        out["dropped_gt_ids"] = list(self.dropped_gt_ids)
        return out


def _trackeval() -> Any:
    try:
        import trackeval
    except ImportError:
        raise MissingDependencyError("trackeval", "track") from None
    return trackeval


def _check_frames(path: Path, rows: np.ndarray, length: int) -> None:
    bad = rows["frame"][rows["frame"] > length]
    if len(bad):
        raise DataError(path, f"frame {int(bad.max())} is beyond the sequence's {length} frames")


def _relabel(ids: np.ndarray) -> tuple[np.ndarray, int]:
    """Ids -> contiguous 0-based labels (TrackEval indexes its count matrices by them)."""
    unique, labels = np.unique(ids, return_inverse=True)
    return labels.astype(np.int64), len(unique)


def build_eval_data(gt: np.ndarray, pred: np.ndarray, frames: Sequence[int]) -> dict[str, Any]:
    """TrackEval's per-sequence ``data`` dict: per time step ids and IoU similarities.

    Args:
        gt, pred: rows of ``MOT_DTYPE`` already restricted to ``frames``.
        frames: the frame numbers scored, in time order (one time step each).

    Returns:
        The keys TrackEval's metrics read: ``num_timesteps``, ``num_gt_ids``,
        ``num_tracker_ids``, ``num_gt_dets``, ``num_tracker_dets``, and per time step
        ``gt_ids`` / ``tracker_ids`` (int64 labels) and ``similarity_scores``
        (n_gt, n_pred) float64 IoU.
    """
    iou = _trackeval().datasets._base_dataset._BaseDataset._calculate_box_ious
    gt_labels, num_gt_ids = _relabel(gt["track_id"])
    pred_labels, num_pred_ids = _relabel(pred["track_id"])
    data: dict[str, Any] = {"gt_ids": [], "tracker_ids": [], "similarity_scores": []}
    for frame in frames:
        in_gt, in_pred = gt["frame"] == frame, pred["frame"] == frame
        gt_boxes = _boxes(gt[in_gt])
        pred_boxes = _boxes(pred[in_pred])
        data["gt_ids"].append(gt_labels[in_gt])
        data["tracker_ids"].append(pred_labels[in_pred])
        data["similarity_scores"].append(iou(gt_boxes, pred_boxes, box_format=BOX_FORMAT))
    data.update(
        num_timesteps=len(frames),
        num_gt_ids=num_gt_ids,
        num_tracker_ids=num_pred_ids,
        num_gt_dets=len(gt),
        num_tracker_dets=len(pred),
        seq="scored",
    )
    return data


def _boxes(rows: np.ndarray) -> np.ndarray:
    return np.stack([rows["x"], rows["y"], rows["w"], rows["h"]], axis=1).reshape(-1, 4)


def run_metrics(data: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """TrackEval's HOTA, CLEAR, Identity and Count results on one sequence's ``data``."""
    metrics = _trackeval().metrics
    quiet = {"PRINT_CONFIG": False}
    results = {}
    # TrackEval prints its config and timing; keep the library silent
    with contextlib.redirect_stdout(io.StringIO()):
        for metric in (metrics.HOTA(), metrics.CLEAR(quiet), metrics.Identity(quiet)):
            results[metric.get_name()] = metric.eval_sequence(data)
        results["Count"] = metrics.Count().eval_sequence(data)
    return results


def _scores(
    results: dict[str, dict[str, Any]], dropped: tuple[int, ...], extra: int
) -> TrackScores:
    hota, clear, ident, count = (results[k] for k in ("HOTA", "CLEAR", "Identity", "Count"))
    return TrackScores(
        hota=float(np.mean(hota["HOTA"])),
        deta=float(np.mean(hota["DetA"])),
        assa=float(np.mean(hota["AssA"])),
        loca=float(np.mean(hota["LocA"])),
        idf1=float(ident["IDF1"]),
        idp=float(ident["IDP"]),
        idr=float(ident["IDR"]),
        mota=float(clear["MOTA"]),
        motp=float(clear["MOTP"]),
        id_switches=int(clear["IDSW"]),
        fragmentations=int(clear["Frag"]),
        num_pred_ids=int(count["IDs"]),
        num_gt_ids=int(count["GT_IDs"]),
        num_pred_rows=int(count["Dets"]),
        num_gt_rows=int(count["GT_Dets"]),
        num_frames=int(count["Frames"]),
        dropped_gt_ids=dropped,
        dropped_pred_rows=extra,
    )


def _person_gt(seq_dir: Path, length: int) -> tuple[np.ndarray, tuple[int, ...]]:
    """The gt rows of people (not zero-marked) and the ids dropped as not people."""
    path = seq_dir / "gt" / "gt.txt"
    gt = read_mot_rows(path)
    _check_frames(path, gt, length)
    gameinfo = read_gameinfo(seq_dir)
    unnamed = sorted(set(gt["track_id"].tolist()) - set(gameinfo))
    if unnamed:
        raise DataError(
            seq_dir / "gameinfo.ini", f"no trackletID_N line for gt ids {unnamed} of {path}"
        )
    people = np.fromiter(person_ids(gameinfo), dtype=np.int64)
    keep = np.isin(gt["track_id"], people)
    dropped = tuple(sorted(set(gt["track_id"][~keep].tolist())))
    return gt[keep & (gt["conf"] != 0)], dropped


def _tracks(tracks: str | Path | np.ndarray) -> tuple[np.ndarray, Path]:
    """Predicted rows and the path naming them in errors."""
    if isinstance(tracks, str | Path):
        return read_mot_rows(tracks), Path(tracks)
    path = Path("<tracks>")
    return check_unique_ids(path, as_rows(tracks)), path


def score_tracks(
    seq_dir: str | Path, tracks: str | Path | np.ndarray, frames: Sequence[int] | None = None
) -> TrackScores:
    """HOTA, IDF1, ID switches, ... of ``tracks`` on a MOT sequence (protocol: module doc).

    Args:
        seq_dir: sequence folder with ``seqinfo.ini``, ``gameinfo.ini`` and ``gt/gt.txt``.
        tracks: a MOT text file of tracker output, or its rows (``MOT_DTYPE``, or (N, 7)
            numbers frame, id, x, y, w, h, conf).
        frames: frame numbers to score (e.g. ``parse_frame_ranges("1-125,176-250")``);
            None scores every frame of ``seqinfo.ini``.

    Raises:
        DataError: a missing or malformed file, or ``frames`` empty or beyond the
            sequence's length.
    """
    seq_dir = Path(seq_dir)
    info = read_seqinfo(seq_dir)
    steps = list(range(1, info.length + 1)) if frames is None else sorted(set(frames))
    if not steps or steps[0] < 1 or steps[-1] > info.length:
        raise DataError(seq_dir / "seqinfo.ini", f"frames must lie in 1..{info.length}")
    gt, dropped = _person_gt(seq_dir, info.length)
    pred, path = _tracks(tracks)
    _check_frames(path, pred, info.length)
    scored_pred = pred[np.isin(pred["frame"], steps)]
    gt = gt[np.isin(gt["frame"], steps)]
    data = build_eval_data(gt, scored_pred, steps)
    return _scores(run_metrics(data), dropped, len(pred) - len(scored_pred))


SCHEMA = "footreid.track_evaluation/1"


def evaluation_document(
    seq_dir: str | Path, tracks: str | Path, frames: str | None, scores: TrackScores
) -> dict[str, Any]:
    """``footreid track-eval --json``: ``{"schema", "command", "sequence", "tracks",
    "frames" (the ranges text or null), "metrics" (:meth:`TrackScores.as_dict`)}``."""
    return {
        "schema": SCHEMA,
        "command": "track-eval",
        "sequence": str(seq_dir),
        "tracks": str(tracks),
        "frames": frames,
        "metrics": scores.as_dict(),
    }
