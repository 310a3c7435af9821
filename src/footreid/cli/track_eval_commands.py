"""``footreid track-eval``: HOTA / IDF1 / ID switches of tracker output with TrackEval."""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING

import typer

if TYPE_CHECKING:
    from footreid.track.scoring import TrackScores

JSON_HELP = "Print one JSON document (schema footreid.track_evaluation/1) instead of the table."
FRAMES_HELP = (
    "Score only these frames, e.g. 1-125,176-250,301-375 (the cuts protocol: the tracker "
    "ran on them alone); gt and predictions on other frames are left out."
)


def track_eval_command(
    seq: Path = typer.Argument(
        ..., help="MOT sequence folder: seqinfo.ini, gameinfo.ini and gt/gt.txt."
    ),
    tracks: Path = typer.Argument(..., help="Tracker output, MOT text: frame,id,x,y,w,h,conf,..."),
    frames: str | None = typer.Option(None, "--frames", help=FRAMES_HELP),
    json_output: bool = typer.Option(False, "--json", help=JSON_HELP),
) -> None:
    """Score tracks against a sequence's people (gameinfo.ini's ball dropped) with TrackEval.

    Exit codes: 0 success; 1 a footreid error (missing or malformed file, bad --frames;
    one 'error:' line on stderr); 2 a usage error; 130 interrupted.
    """
    from footreid.track.mot import parse_frame_ranges
    from footreid.track.scoring import evaluation_document, score_tracks

    selected = None if frames is None else parse_frame_ranges(frames)
    scores = score_tracks(seq, tracks, selected)
    if json_output:
        document = evaluation_document(seq, tracks, frames, scores)
        typer.echo(json.dumps(document, indent=2, allow_nan=False))
        return
    _print_table(f"{tracks.name} vs {seq.name}", scores)


def _print_table(title: str, scores: TrackScores) -> None:
    from rich.table import Table

    from footreid.cli.console import make_console

    table = Table(title=title)
    table.add_column("metric")
    table.add_column("value", justify="right")
    for name, value in (
        ("HOTA", scores.hota),
        ("DetA", scores.deta),
        ("AssA", scores.assa),
        ("IDF1", scores.idf1),
        ("MOTA", scores.mota),
    ):
        table.add_row(name, f"{value:.2%}")
    table.add_row("ID switches", str(scores.id_switches))
    table.add_row("predicted ids", str(scores.num_pred_ids))
    table.add_row("gt ids", str(scores.num_gt_ids))
    table.add_row("frames", str(scores.num_frames))
    table.add_row("gt ids dropped (not people)", ", ".join(map(str, scores.dropped_gt_ids)) or "-")
    table.add_row("predicted rows on other frames", str(scores.dropped_pred_rows))
    make_console().print(table)


def register(app: typer.Typer) -> None:
    """Add ``track-eval`` to the ``footreid`` app."""
    app.command("track-eval")(track_eval_command)
