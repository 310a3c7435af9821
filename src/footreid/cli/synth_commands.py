"""``footreid synth``: write a synthetic football dataset in the SoccerNet-v3 ReID layout."""

from __future__ import annotations

from pathlib import Path

import typer


def synth_command(
    out: Path = typer.Argument(..., help="Dataset root to create (reid/ is written inside)."),
    preset: str = typer.Option(
        "small", "--preset", help="Size: tiny (tests), small (quickstart), default."
    ),
    seed: int = typer.Option(0, "--seed", help="Dataset seed; the same seed gives the same bytes."),
    workers: int = typer.Option(1, "--workers", min=1, help="Processes rendering in parallel."),
    overwrite: bool = typer.Option(
        False, "--overwrite", help="Replace a different dataset already in OUT."
    ),
) -> None:
    """Generate synthetic football player crops (SoccerNet-v3 ReID layout, offline)."""
    from rich.table import Table

    from footreid.cli.console import make_console
    from footreid.data.synthetic import generate, read_summary

    root = generate(out, preset=preset, seed=seed, overwrite=overwrite, workers=workers)
    summary = read_summary(root) or {}
    table = Table(title=f"synthetic '{summary.get('preset')}' seed {summary.get('seed')}: {root}")
    for column in ("split", "actions", "games", "crops", "queries", "gallery", "identities"):
        table.add_column(column, justify="left" if column == "split" else "right")
    for split, counts in summary.get("counts", {}).items():
        table.add_row(
            split,
            *(str(counts.get(key, "")) for key in ("actions", "games", "crops")),
            *(str(counts.get(key, "")) for key in ("queries", "gallery", "identities")),
        )
    make_console().print(table)
    make_console().print(
        f"{summary.get('total_crops')} crops, generated in {summary.get('generation_seconds')} s "
        f"({summary.get('crops_per_second')} crops/s, {summary.get('workers')} worker(s)); "
        "challenge labels and true identities: challenge_bbox_info.json, hidden_identities.json"
    )


def register(app: typer.Typer) -> None:
    """Add the ``synth`` command to the root app."""
    app.command("synth", help="Generate a synthetic football ReID dataset (SoccerNet layout).")(
        synth_command
    )
