"""The ``experiment`` command: checkpoints -> the whole results table of a run."""

from __future__ import annotations

from pathlib import Path

import typer


def experiment_command(
    config: Path = typer.Option(
        ..., "--config", "-c", help="Experiment YAML (configs/experiments/<name>.yaml)."
    ),
    overrides: list[str] | None = typer.Option(
        None, "--set", help="Override a config value, e.g. dataset.split=test (repeatable)."
    ),
) -> None:
    """Embed checkpoints (cached), evaluate single models, ensembles and re-ranking."""
    from footreid.cli.console import make_console, print_markdown
    from footreid.core.io import check_writable
    from footreid.core.layout import ExperimentLayout
    from footreid.experiment import load_experiment, run_experiment

    experiment = load_experiment(config, overrides or [])
    check_writable(experiment.run_dir)  # before any checkpoint is embedded
    run_dir = run_experiment(experiment)
    layout, console = ExperimentLayout(run_dir), make_console()
    text = layout.results_md.read_text(encoding="utf-8")
    table = text[text.index("## Results") : text.index("## Notes")]
    print_markdown(console, table)
    console.print(f"results: {layout.results_md} and {layout.results_json}")
    console.print(f"report:  footreid report {run_dir}")


def register(app: typer.Typer) -> None:
    """Add ``experiment`` to the ``footreid`` app."""
    app.command("experiment")(experiment_command)
