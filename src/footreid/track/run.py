"""One tracking pass: frames + detections -> BoxMOT tracker -> MOT rows, with features.

The pass also keeps, for every output row, its crop's embedding and quality (for the
linker) and, for every frame, how much the picture and the boxes changed since the
previous frame read (for the cut detector), so linking needs no second pass.
"""

from __future__ import annotations

import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from footreid.core.log import Progress
from footreid.track.appearance import FootreidAppearance, crop_quality
from footreid.track.cuts import box_continuity
from footreid.track.trackers import TRACKERS, build_tracker
from footreid.track.video import FrameSource, read_frames, thumbnail

# MOT columns of TrackOutput.rows (footreid.track.mot.as_rows reads this order)
FRAME, TRACK_ID, LEFT, TOP, WIDTH, HEIGHT, CONF = range(7)


@dataclass
class TrackOutput:
    """What a tracking pass produced.

    Attributes:
        rows: (M, 7) float64: frame, track id, left, top, width, height, confidence.
        features: (M, D) float32 unit vectors of each row's crop, or None (no ReID).
        quality: (M,) share of each row's box that no other box covers.
        frames: the frame numbers read, in order.
        frame_change: per frame read, mean absolute pixel change from the previous one
            (160x90 thumbnails; 0 for the first).
        continuity: per frame read, the median best IoU of its detections with the
            previous frame's (1 for the first).
        seconds: wall time of the pass.
    """

    rows: np.ndarray
    features: np.ndarray | None
    quality: np.ndarray
    frames: list[int]
    frame_change: np.ndarray
    continuity: np.ndarray
    seconds: float

    @property
    def fps(self) -> float:
        """Frames tracked per second of wall time."""
        return len(self.frames) / self.seconds if self.seconds > 0 else 0.0

    @property
    def positions(self) -> np.ndarray:
        """(M,) index of each row's frame among the frames read."""
        return np.searchsorted(np.asarray(self.frames), self.rows[:, FRAME].astype(np.int64))


@dataclass
class _Collector:
    rows: list[np.ndarray] = field(default_factory=list)
    features: list[np.ndarray] = field(default_factory=list)
    quality: list[np.ndarray] = field(default_factory=list)
    change: list[float] = field(default_factory=list)
    continuity: list[float] = field(default_factory=list)
    thumb: np.ndarray | None = None
    boxes: np.ndarray | None = None

    def frame(self, image: np.ndarray, dets: np.ndarray) -> None:
        small, xywh = thumbnail(image), np.column_stack([dets[:, :2], dets[:, 2:4] - dets[:, :2]])
        first = self.thumb is None
        self.change.append(0.0 if first else float(np.abs(small - self.thumb).mean()))
        self.continuity.append(1.0 if first else box_continuity(self.boxes, xywh))
        self.thumb, self.boxes = small, xywh


def _frame_rows(number: int, tracks: np.ndarray, n_dets: int) -> tuple[np.ndarray, np.ndarray]:
    """MOT rows of one frame's BoxMOT output (x1, y1, x2, y2, id, conf, cls, det_ind)."""
    rows = np.zeros((len(tracks), 7))
    rows[:, FRAME], rows[:, TRACK_ID], rows[:, CONF] = number, tracks[:, 4], tracks[:, 5]
    rows[:, LEFT], rows[:, TOP] = tracks[:, 0], tracks[:, 1]
    rows[:, WIDTH], rows[:, HEIGHT] = tracks[:, 2] - tracks[:, 0], tracks[:, 3] - tracks[:, 1]
    det_index = tracks[:, 7].astype(np.int64)
    if len(det_index) and (det_index.min() < 0 or det_index.max() >= n_dets):
        raise RuntimeError(f"frame {number}: the tracker returned a detection index out of range")
    return rows, det_index


def run_tracker(
    source: FrameSource,
    detections: Mapping[int, np.ndarray],
    frames: Sequence[int],
    tracker_name: str,
    appearance: FootreidAppearance | None,
    tracker_reid: bool | Any = False,
) -> TrackOutput:
    """Track ``frames`` of a sequence with BoxMOT's ``tracker_name``.

    Args:
        detections: frame number -> (N, 5) x1, y1, x2, y2, confidence (pixels).
        appearance: footreid's embedder; every detection is embedded once and the
            features of the output rows are kept (for the linker). None: no features.
        tracker_reid: the tracker uses the embedder too (appearance trackers only;
            False: their embeddings off, motion alone, except StrongSORT, which needs
            one and always gets ``appearance``), or another ReID model for the
            tracker (anything with BoxMOT's ``get_features(boxes, image)``, e.g. BoxMOT's
            own backend, for side-by-side comparisons).
    """
    entry = TRACKERS.get(tracker_name)
    if not isinstance(tracker_reid, bool):
        uses = tracker_reid  # another ReID model for the tracker
    else:
        uses = appearance if tracker_reid or entry.needs_appearance else None
    if not entry.uses_appearance:
        uses = None
    tracker = build_tracker(tracker_name, source.info.fps, uses)
    started, out = time.perf_counter(), _Collector()
    with Progress(f"track {tracker_name}", total=len(frames), log_every=100) as bar:
        for done, (number, image) in enumerate(read_frames(source, frames), start=1):
            dets = np.asarray(detections.get(number, np.zeros((0, 5))), np.float32).reshape(-1, 5)
            out.frame(image, dets)
            boxmot_dets = np.column_stack([dets, np.zeros(len(dets), np.float32)])
            if appearance is not None:
                feats = appearance.get_features(boxmot_dets, image)
            tracks = np.asarray(tracker.update(boxmot_dets, image)).reshape(-1, 8)
            rows, det_index = _frame_rows(number, tracks, len(dets))
            out.rows.append(rows)
            out.quality.append(crop_quality(dets[:, :4])[det_index])
            if appearance is not None:
                out.features.append(feats[det_index])
            bar.update(done, f"{len(rows)} tracks")
    return TrackOutput(
        rows=np.concatenate(out.rows) if out.rows else np.zeros((0, 7)),
        features=np.concatenate(out.features) if appearance is not None and out.rows else None,
        quality=np.concatenate(out.quality).astype(np.float32) if out.rows else np.zeros(0),
        frames=list(frames),
        frame_change=np.asarray(out.change, dtype=np.float32),
        continuity=np.asarray(out.continuity, dtype=np.float32),
        seconds=time.perf_counter() - started,
    )
