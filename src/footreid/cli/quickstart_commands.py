"""``footreid quickstart``: the whole pipeline on synthetic data, offline, on a CPU."""

from __future__ import annotations

from pathlib import Path

import typer


def quickstart_command(
    out: Path = typer.Option(Path("runs/quickstart"), "--out", help="Folder for everything."),
    preset: str = typer.Option("small", "--preset", help="Synthetic preset: tiny, small."),
    seed: int = typer.Option(0, "--seed", help="Dataset seed."),
    recipes: Path | None = typer.Option(
        None, "--recipes", help="Folder of synthetic_small_*.yaml (default: configs/recipes)."
    ),
    pretrained: str = typer.Option(
        "auto", "--pretrained", help="auto: local pretrained weights when present; none: scratch."
    ),
    overrides: list[str] | None = typer.Option(
        None, "--set", help="Override a value of every recipe, e.g. train.max_steps_per_epoch=5."
    ),
) -> None:
    """Synthetic data -> OSNet-AIN, ResNet-50, ViT-LoRA -> ensembles, re-ranking -> report."""
    from rich.console import Console
    from rich.markdown import Markdown
    from rich.table import Table

    from footreid.cli.shell import footreid_executable
    from footreid.core.errors import ConfigError
    from footreid.quickstart import QuickstartOptions, run_quickstart

    if pretrained not in ("auto", "none"):
        raise ConfigError(f"--pretrained: expected auto or none, got '{pretrained}'")
    options = QuickstartOptions(out, preset, seed, recipes, tuple(overrides or ()), pretrained)
    result = run_quickstart(options)
    console = Console()
    models = Table(title="models")
    for column in ("model", "architecture", "initialisation", "training", "time (s)"):
        models.add_column(column)
    for m in result.models:
        models.add_row(m.label, m.model, m.init, m.status, f"{m.seconds:.0f}")
    console.print(models)
    text = result.results_md.read_text(encoding="utf-8")
    console.print(Markdown(text[text.index("## Results") : text.index("## Notes")]))
    steps = ", ".join(f"{name} {sec:.0f} s" for name, sec in result.steps.items())
    console.print(f"time: {sum(result.steps.values()):.0f} s ({steps})")
    console.print(f"results: {result.results_md}")
    console.print(f"report:  {result.report}")
    console.print(f"demo:    {footreid_executable()} serve {result.run_dir}   (or: make demo)")


def register(app: typer.Typer) -> None:
    """Add ``quickstart`` to the ``footreid`` app."""
    app.command("quickstart")(quickstart_command)
