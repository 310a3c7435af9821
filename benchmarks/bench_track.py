"""Tracking real football with BoxMOT's trackers, with and without footreid (ReID, --link).

SNMOT-116-A (``../shared/data/snmot-track``, 375 frames at 1280x720, 19 people),
ground-truth boxes without their ids as detections (``--boxes-from-gt``: association
alone is measured), scored by TrackEval through ``footreid track-eval``'s scoring (ball
dropped). Two protocols: ``continuous`` (frames 1-375) and ``cuts`` (frames 1-125,
176-250, 301-375 as one stream: a broadcast that cuts away twice).

Each row is one tracker with one ReID inside it: ``none`` (motion only; BoT-SORT with
embeddings off), ``boxmot`` (BoxMOT's own ReID runtime on torchreid's OSNet x0.25
MSMT17, its default model) or ``footreid`` (the football model through footreid's
embedder). Every pass also embeds each box with the football model, so ``--link`` (the
linked columns) runs on the same pass. ``frames/s`` is the whole pass: decoding, the
football embedding of every box (one batch per frame), the tracker (and BoxMOT's ReID
where it has one); ``link s`` the linker alone.

Run (the football model is the snmot_osnet_x0_25_msmt17 recipe trained on snmot-reid train):
  .venv/bin/python benchmarks/bench_track.py --model runs/train/snmot_osnet/checkpoints/best.pt
  ... --configs botsort:none,botsort:footreid --protocols cuts --strip docs/images/track_cuts.jpg
"""

from __future__ import annotations

import argparse
import shutil
import tempfile
import time
from pathlib import Path

from _hardware import cpu_kind, quiet_process

SHARED = Path(__file__).resolve().parents[2] / "shared"
SEQ = SHARED / "data" / "snmot-track" / "SNMOT-116-A"
MSMT17 = SHARED / "weights" / "osnet_x0_25_msmt17.pth"
PROTOCOLS = {"continuous": "1-375", "cuts": "1-125,176-250,301-375"}
CONFIGS = (
    "ocsort:none,bytetrack:none,botsort:none,botsort:boxmot,botsort:footreid,"
    "deepocsort:footreid,strongsort:boxmot,strongsort:footreid"
)
STRIP_FRAMES = (125, 181, 250, 306)  # before each cut and 6 frames after it


def boxmot_reid(tmp: Path):
    """BoxMOT's own ReID backend on its default model (torchreid's OSNet x0.25 MSMT17)."""
    from boxmot.reid.core.runtime import ReID

    target = tmp / "osnet_x0_25_msmt17.pt"  # BoxMOT reads the architecture from the name
    shutil.copyfile(MSMT17, target)
    return ReID(target, device="cpu", half=False).model


def one_pass(args, tracker: str, reid: str, frames: str, football, boxmot):
    from footreid.core.errors import ConfigError
    from footreid.track.detections import detections_from_gt
    from footreid.track.linking import link
    from footreid.track.mot import parse_frame_ranges
    from footreid.track.run import run_tracker
    from footreid.track.scoring import score_tracks
    from footreid.track.video import open_frames

    inside = {"none": False, "footreid": True, "boxmot": boxmot}[reid]
    source, numbers = open_frames(SEQ), parse_frame_ranges(frames)
    output = run_tracker(source, detections_from_gt(SEQ), numbers, tracker, football, inside)
    plain = score_tracks(SEQ, output.rows, numbers)
    started = time.perf_counter()
    try:
        rows, report = link(output)
    except ConfigError as exc:
        print(f"# {tracker}:{reid} {frames}: {exc}")
        return plain, None, output, None, 0.0
    return plain, score_tracks(SEQ, rows, numbers), output, rows, time.perf_counter() - started


def cell(scores, name: str) -> str:
    if scores is None:
        return "-"
    value = getattr(scores, name)
    return f"{100 * value:.1f}" if isinstance(value, float) else str(value)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", required=True, help="footreid's football model (checkpoint)")
    parser.add_argument("--configs", default=CONFIGS, help="tracker:reid pairs, comma-separated")
    parser.add_argument("--protocols", default="continuous,cuts")
    parser.add_argument("--threads", type=int, default=None)
    parser.add_argument("--backend", default="auto", help="footreid's backend (as footreid track)")
    parser.add_argument("--strip", type=Path, help="JPEG of the frames around the cuts, linked ids")
    args = parser.parse_args()
    quiet_process(args.threads)
    import footreid
    from footreid.track.appearance import FootreidAppearance
    from footreid.track.draw import draw_strip
    from footreid.track.video import open_frames

    encoder = footreid.load(args.model, flip_tta=False, backend=args.backend)
    football = FootreidAppearance([encoder])
    print(
        f"# {cpu_kind()}; football model {football.encoders[0].name}, "
        f"{encoder.precision}, backend {args.backend}"
    )
    print(
        "| protocol | tracker | ReID inside | IDF1 | HOTA | AssA | IDsw | ids | "
        "IDF1 linked | HOTA linked | AssA linked | IDsw linked | ids linked | frames/s | link s |"
    )
    print("| --- | --- | --- |" + " ---: |" * 12)
    with tempfile.TemporaryDirectory() as tmp:
        boxmot = boxmot_reid(Path(tmp)) if "boxmot" in args.configs else None
        for protocol in args.protocols.split(","):
            for config in args.configs.split(","):
                tracker, reid = config.split(":")
                plain, linked, output, rows, link_s = one_pass(
                    args, tracker, reid, PROTOCOLS[protocol], football, boxmot
                )
                cells = [
                    cell(plain, k) for k in ("idf1", "hota", "assa", "id_switches", "num_pred_ids")
                ]
                cells += [
                    cell(linked, k) for k in ("idf1", "hota", "assa", "id_switches", "num_pred_ids")
                ]
                print(
                    f"| {protocol} | {tracker} | {reid} | "
                    + " | ".join(cells)
                    + f" | {output.fps:.1f} | {link_s:.2f} |",
                    flush=True,
                )
                if args.strip and protocol == "cuts" and rows is not None:
                    draw_strip(
                        open_frames(SEQ), rows, STRIP_FRAMES, args.strip, width=640, columns=2
                    )
                    args.strip = None  # the first linked cuts run only
    print(f"# football model: backend {encoder.backend}, {encoder.precision}")


if __name__ == "__main__":
    main()
