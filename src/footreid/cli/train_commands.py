"""``footreid train``: a recipe (+ ``--set`` overrides) to a run folder, with validation.

One call of :func:`footreid.experiment.training.train_with_validation`: validation on
``val.split`` -- never the reported split unless the config says so explicitly.
"""

from __future__ import annotations

from pathlib import Path

import typer


def train_command(
    config: Path = typer.Option(..., "--config", "-c", help="Recipe YAML (configs/recipes/)."),
    overrides: list[str] = typer.Option(
        [], "--set", help="Override a config value, e.g. --set optim.name=sgd (repeatable)."
    ),
    resume: bool = typer.Option(
        False, "--resume", help="Continue the run's checkpoints/last.pt (same config)."
    ),
    no_val: bool = typer.Option(
        False, "--no-val", help="Skip validation (best.pt is then the last epoch)."
    ),
) -> None:
    """Train a model from a recipe: staged schedule, checkpoints, validation on val.split."""
    from rich.table import Table

    from footreid.cli.console import make_console
    from footreid.core.config import load_config
    from footreid.core.io import check_writable
    from footreid.experiment.training import train_with_validation

    cfg = load_config(config, overrides)
    check_writable(cfg.run_dir)  # before the data is read and the model built
    result = train_with_validation(cfg, resume=resume, validate=not no_val)
    table = Table(title=f"run {result.run_dir}")
    for column in ("stage", "epoch", "HxW", "loss", "acc", "img/s", f"val {cfg.val.metric}"):
        table.add_column(column, justify="right")
    for rec in result.history:
        val = rec["val"] or {}
        table.add_row(
            rec["stage"],
            str(rec["epoch"]),
            "x".join(map(str, rec["input_size"])),
            f"{rec['loss']:.4f}",
            "-" if rec["accuracy"] is None else f"{rec['accuracy']:.3f}",
            f"{rec['images_per_s']:.1f}",
            f"{val[cfg.val.metric]:.2%}" if cfg.val.metric in val else "-",
        )
    console = make_console()
    console.print(table)
    chosen = "last epoch" if result.best_value is None else f"{result.best_value:.2%}"
    console.print(f"best checkpoint ({cfg.val.metric} on {cfg.val.split}: {chosen}): {result.best}")


def register(app: typer.Typer) -> None:
    """Add the ``train`` command to ``app``."""
    app.command("train")(train_command)
