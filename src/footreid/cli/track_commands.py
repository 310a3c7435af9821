"""``footreid track``: a broadcast clip to MOT tracks, with footreid's ReID and linking."""

from __future__ import annotations

from pathlib import Path

import typer

SOURCE_HELP = "A MOT sequence folder (seqinfo.ini, img1/) or a video file."
REID_HELP = (
    "ReID model: a checkpoint, model folder, .onnx, hub or registry name (hsv), as "
    "footreid.load takes; repeat for an equal-weight ensemble; 'none' for motion only."
)
FRAMES_HELP = "Track only these frames as one stream, e.g. 1-125,176-250,301-375 (cuts)."
LINK_HELP = (
    "Join tracks into identities afterwards: tracks split at detected cuts, joined by "
    "appearance with a threshold calibrated on the clip (two tracks sharing a frame never join)."
)


def track_command(
    source: Path = typer.Argument(..., help=SOURCE_HELP),
    out: Path = typer.Option(..., "--out", "-o", help="Tracks to write (MOT text)."),
    detections: Path | None = typer.Option(
        None, "--detections", help="MOT det.txt (frame,-1,x,y,w,h,conf)."
    ),
    boxes_from_gt: bool = typer.Option(
        False, "--boxes-from-gt", help="Use gt/gt.txt's people boxes, ids dropped."
    ),
    tracker: str = typer.Option(
        "botsort", "--tracker", help="botsort, strongsort, deepocsort, ocsort, bytetrack."
    ),
    reid: list[str] = typer.Option(["none"], "--reid", help=REID_HELP),
    tracker_reid: bool = typer.Option(
        False,
        "--tracker-reid/--no-tracker-reid",
        help="The tracker uses the ReID model too (StrongSORT always does); by default only "
        "--link does: within one shot motion decides.",
    ),
    frames: str | None = typer.Option(None, "--frames", help=FRAMES_HELP),
    link: bool = typer.Option(False, "--link", help=LINK_HELP),
    link_threshold: float | None = typer.Option(
        None, "--link-threshold", help="Fixed cosine-distance threshold for --link."
    ),
    min_confidence: float = typer.Option(0.0, "--min-confidence", help="Drop weaker detections."),
    device: str = typer.Option("auto", "--device", help="auto, cpu, cuda, cuda:1, ..."),
    precision: str = typer.Option("auto", "--precision", help="auto, fp32, bf16, fp16."),
    backend: str = typer.Option(
        "auto",
        "--backend",
        help="auto (the fastest that agrees with torch, measured once), torch, onnx, openvino.",
    ),
    strip: Path | None = typer.Option(
        None,
        "--strip",
        help="Also write a JPEG of frames with ids drawn (either side of each cut).",
    ),
) -> None:
    """Track the people of a clip with a BoxMOT tracker and footreid's ReID model.

    Exit codes: 0 success; 1 a footreid error (one 'error:' line on stderr); 2 a usage
    error; 130 interrupted.
    """
    from footreid.core.errors import ConfigError
    from footreid.core.io import check_writable
    from footreid.track.mot import write_mot_rows
    from footreid.track.pipeline import TrackPlan, track_clip

    if (detections is None) == (not boxes_from_gt):
        raise ConfigError("give exactly one of --detections FILE and --boxes-from-gt")
    for path in (out, strip):  # a read-only destination fails before any frame is read
        if path is not None:
            check_writable(path.parent)
    models = tuple(r for r in reid if r != "none")
    plan = TrackPlan(
        source=source,
        detections=detections,
        tracker=tracker,
        reid=models,
        tracker_reid=tracker_reid,
        frames=frames,
        link=link,
        link_threshold=link_threshold,
        min_confidence=min_confidence,
        device=device,
        precision=precision,
        backend=backend,
    )
    result = track_clip(plan)
    write_mot_rows(out, result.rows)
    if strip is not None:
        from footreid.track.draw import draw_strip, strip_frames
        from footreid.track.video import open_frames

        cuts = result.link.cuts if result.link else []
        chosen = strip_frames(result.output.frames, cuts)
        draw_strip(open_frames(source), result.rows, chosen, strip, columns=2)
    ids = len({int(i) for i in result.rows[:, 1]})
    typer.echo(
        f"{out}: {len(result.rows)} boxes, {ids} ids, {len(result.output.frames)} frames "
        f"at {result.output.fps:.1f} frames/s"
    )


def register(app: typer.Typer) -> None:
    """Add ``track`` to the ``footreid`` app."""
    app.command("track")(track_command)
