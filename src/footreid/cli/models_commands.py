"""``footreid models``: the registered model names with size, input and embedding."""

from __future__ import annotations

import typer


def register(app: typer.Typer) -> None:
    """Add the ``models`` command to ``app``."""
    app.command("models")(models)


def models(
    pattern: str = typer.Argument("", help="Only names containing this text."),
) -> None:
    """List registered models: parameters, default input size, embedding dimension."""
    from rich.table import Table

    from footreid.cli.console import make_console
    from footreid.models.factory import describe_models

    rows = describe_models(pattern)
    table = Table(title=f"{len(rows)} models")
    table.add_column("name", no_wrap=True)
    for column in ("params", "trainable", "input HxW", "dim"):
        table.add_column(column, justify="right", no_wrap=True)
    table.add_column("description")
    for row in rows:
        h, w = row["input_size"]
        fixed = row["parameter_free"]  # a colour histogram: "-", not "0.00 M"
        table.add_row(
            row["name"],
            "-" if fixed else f"{row['params'] / 1e6:.2f} M",
            "-" if fixed else f"{row['trainable'] / 1e6:.2f} M",
            f"{h}x{w}",
            str(row["embed_dim"]),
            row["summary"],
        )
    make_console().print(table)
