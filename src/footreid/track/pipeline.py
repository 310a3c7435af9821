"""``footreid track`` as one library call: frames + detections -> tracks (-> identities)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from footreid.core.errors import ConfigError
from footreid.core.log import get_logger
from footreid.track.appearance import FootreidAppearance
from footreid.track.detections import Detections, detections_from_file, detections_from_gt
from footreid.track.linking import LinkReport, link
from footreid.track.mot import parse_frame_ranges
from footreid.track.run import TrackOutput, run_tracker
from footreid.track.trackers import TRACKERS
from footreid.track.video import open_frames

log = get_logger(__name__)


@dataclass(frozen=True)
class TrackPlan:
    """Everything one ``footreid track`` run needs, resolved once.

    Attributes:
        source: a MOT sequence folder or a video file.
        detections: a MOT ``det.txt``, or None for the ground truth's boxes (``--boxes-from-gt``).
        tracker: a BoxMOT tracker name (``TRACKERS``).
        reid: footreid model sources (``footreid.load``: checkpoint, folder, ONNX, hub or
            registry name such as ``hsv``); several form an equal-weight ensemble; empty: none.
        tracker_reid: the tracker itself uses the ReID model too; off by default (only the
            linker does), except for trackers that cannot run without it (StrongSORT).
            Within one shot motion decides: on SNMOT-116-A, BoT-SORT with the football
            model inside linked worse than BoT-SORT on motion alone for 2 of 3 model seeds.
        frames: "1-125,176-250" style ranges, or None for every frame.
        link: join the tracks into identities afterwards.
        link_threshold: a fixed linking threshold (None: calibrated on the clip).
        min_confidence: detections below it are dropped (det.txt only).
        device, precision, backend: for the ReID model, as ``footreid embed``.
    """

    source: Path
    detections: Path | None = None
    tracker: str = "botsort"
    reid: tuple[str, ...] = ()
    tracker_reid: bool = False
    frames: str | None = None
    link: bool = False
    link_threshold: float | None = None
    min_confidence: float = 0.0
    device: str = "auto"
    precision: str = "auto"
    backend: str = "auto"

    def check(self) -> None:
        """Refuse inconsistent plans before any work starts."""
        TRACKERS.get(self.tracker)  # unknown names list the known ones
        if self.link and not self.reid:
            raise ConfigError(
                "--link needs a ReID model (--reid): tracklets are joined by appearance"
            )
        if TRACKERS.get(self.tracker).needs_appearance and not self.reid:
            raise ConfigError(f"tracker '{self.tracker}' needs a ReID model: give --reid")


@dataclass
class TrackResult:
    """A run's output: the rows to write, the raw pass, and the linker's report."""

    rows: np.ndarray
    output: TrackOutput
    link: LinkReport | None


def _appearance(plan: TrackPlan) -> FootreidAppearance | None:
    if not plan.reid:
        return None
    from footreid.api import load

    # flip TTA off: a tracker embeds every box of every frame, and it is what BoxMOT computes
    settings = {"device": plan.device, "precision": plan.precision, "backend": plan.backend}
    encoders = [load(s, flip_tta=False, **settings) for s in plan.reid]
    return FootreidAppearance(encoders)


def _detections(plan: TrackPlan) -> Detections:
    if plan.detections is None:
        if not plan.source.is_dir():
            raise ConfigError(
                f"{plan.source}: --boxes-from-gt needs a MOT sequence folder (gt/gt.txt)"
            )
        return detections_from_gt(plan.source)
    return detections_from_file(plan.detections, plan.min_confidence)


def track_clip(plan: TrackPlan) -> TrackResult:
    """Run a :class:`TrackPlan`: track, then link if asked."""
    plan.check()
    frames_source = open_frames(plan.source)
    length = frames_source.info.length
    frames: Sequence[int] = (
        parse_frame_ranges(plan.frames, length) if plan.frames else range(1, length + 1)
    )
    detections = _detections(plan)
    output = run_tracker(
        frames_source, detections, list(frames), plan.tracker, _appearance(plan), plan.tracker_reid
    )
    log.info(
        "tracked %d frames at %.1f frames/s: %d track ids",
        len(output.frames),
        output.fps,
        len(np.unique(output.rows[:, 1])),
    )
    if not plan.link:
        return TrackResult(output.rows, output, None)
    rows, report = link(output, plan.link_threshold)
    log.info(
        "linked %d tracklets (cuts at %s) into %d identities, threshold %.3f",
        report.tracklets,
        [output.frames[c] for c in report.cuts] or "none",
        report.identities,
        report.criteria.threshold,
    )
    return TrackResult(rows, output, report)
