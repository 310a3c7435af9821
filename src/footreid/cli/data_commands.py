"""Data commands: download SoccerNet-v3 ReID, and describe/validate a dataset folder."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import typer

if TYPE_CHECKING:
    from rich.console import Console
    from rich.table import Table

    from footreid.data.summary import DatasetSummary

DEFAULT_SPLITS = ["train", "valid", "test", "challenge"]


def download_command(
    root: Path = typer.Argument(..., help="Dataset folder; data goes to ROOT/soccernetv3/reid/."),
    split: list[str] = typer.Option(
        DEFAULT_SPLITS,
        "--split",
        "-s",
        help="Split to get (repeat): train, valid, test, challenge, test_labels, challenge_labels.",
    ),
    unzip_only: bool = typer.Option(
        False, "--unzip-only", help="Do not download: unpack zips already in ROOT/soccernetv3/reid."
    ),
    delete_zips: bool = typer.Option(
        False, "--delete-zips", help="Delete each zip once it is unpacked."
    ),
) -> None:
    """Download SoccerNet-v3 ReID splits (SoccerNet package) and unpack them in place."""
    from rich.table import Table

    from footreid.cli.console import make_console
    from footreid.data.download import download

    result = download(root, list(split), unzip_only=unzip_only, delete_zips=delete_zips)
    table = Table(title=str(result.reid_dir))
    table.add_column("split / file")
    table.add_column("status")
    for path in result.extracted:
        table.add_row(path.name, "unpacked")
    for path in result.already_present:
        table.add_row(path.name, "already present (left untouched)")
    for path in result.labels:
        table.add_row(path.name, "ground truth")
    make_console().print(table)


def _fmt(values: tuple[float, ...]) -> str:
    return " / ".join(f"{v:g}" for v in values)


def data_info_command(
    root: Path = typer.Argument(..., help="Dataset folder (holding reid/ or soccernetv3/reid/)."),
    skip_bad: bool = typer.Option(
        False, "--skip-bad", help="Skip and count bad files instead of stopping at the first."
    ),
    quick: bool = typer.Option(
        False, "--quick", help="Check PNG headers only; do not decode every image."
    ),
) -> None:
    """Count, describe and validate every split of a SoccerNet-v3 ReID dataset."""
    from rich.text import Text

    from footreid.cli.console import make_console
    from footreid.data.summary import summarize_dataset

    summary = summarize_dataset(root, skip_bad=skip_bad, decode=not quick)
    console = make_console()
    console.print(_counts_table(summary))
    if any(s.class_counts for s in summary.splits):
        console.print(_class_table(summary))
    _print_findings(console, summary)
    verdict = "valid" if not summary.skipped else f"{summary.skipped} bad files skipped"
    checked = "PNG headers checked" if quick else "every PNG decoded"
    console.print(Text.assemble((verdict, "bold"), f" ({checked})"))


def _counts_table(summary: DatasetSummary) -> Table:
    """One column per split: counts and distributions."""
    from rich.table import Table

    splits = summary.splits
    table = Table(title=f"{summary.reid_root}")
    table.add_column("", no_wrap=True)
    for s in splits:
        table.add_column(s.split, justify="right", no_wrap=True)
    rows = {
        "images": [str(s.images) for s in splits],
        "identities (person_uid)": [str(s.identities) for s in splits],
        "actions": [str(s.actions) for s in splits],
        "queries": [str(s.queries) if s.split != "train" else "-" for s in splits],
        "gallery": [str(s.gallery) if s.split != "train" else "-" for s in splits],
        "crops/action min/med/max": [_fmt(s.crops_per_action) for s in splits],
        "height px min/q1/med/q3/max": [_fmt(s.heights) for s in splits],
        "decoded": [str(s.decoded) if s.decoded is not None else "skipped" for s in splits],
        "bad files skipped": [str(s.skipped.total) for s in splits],
    }
    for name, values in rows.items():
        table.add_row(name, *values)
    return table


def _class_table(summary: DatasetSummary) -> Table:
    """Crops per ``clazz`` and split."""
    from rich.table import Table

    splits = summary.splits
    table = Table(title="crops per class")
    table.add_column("clazz")
    for s in splits:
        table.add_column(s.split, justify="right")
    for clazz in sorted({c for s in splits for c in s.class_counts}):
        table.add_row(clazz, *(str(s.class_counts.get(clazz, 0)) for s in splits))
    return table


def _print_findings(console: Console, summary: DatasetSummary) -> None:
    """Warnings and skipped files of every split, with examples."""
    from rich.text import Text

    for s in summary.splits:
        for warning in s.warnings:
            console.print(Text.assemble(("warning ", "yellow"), f"{s.split}: {warning}"))
        if s.skipped.total:
            console.print(
                Text.assemble(("skipped ", "yellow"), f"{s.split}: {s.skipped.describe()}")
            )
            for path, problem in s.skipped.examples:
                console.print(Text(f"  {path}: {problem}"))


def register(app: typer.Typer) -> None:
    """Add the data commands (``download``, ``data-info``) to the ``footreid`` app."""
    app.command("download")(download_command)
    app.command("data-info")(data_info_command)
