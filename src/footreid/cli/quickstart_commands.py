"""``footreid quickstart``: the whole pipeline on synthetic data, offline, on a CPU."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

import typer

if TYPE_CHECKING:
    from rich.table import Table

# What the quickstart's final table calls a method: the results file's names, shortened
# so that the table fits a reader's screen (about 90 columns); the full names are in
# results.md and the report.
SHORT_NAMES = ((" (tuned on valid)", " tuned"), ("weighted ", "w "), (" + rerank ", " + rr "))


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
    from rich.table import Table

    from footreid.cli.console import make_console
    from footreid.cli.shell import footreid_executable
    from footreid.core.errors import ConfigError
    from footreid.core.layout import ExperimentLayout
    from footreid.quickstart import QuickstartOptions, run_quickstart

    if pretrained not in ("auto", "none"):
        raise ConfigError(f"--pretrained: expected auto or none, got '{pretrained}'")
    options = QuickstartOptions(out, preset, seed, recipes, tuple(overrides or ()), pretrained)
    result = run_quickstart(options)
    console = make_console()
    models = Table(title="models (architectures: results.md)")
    for column in ("model", "initialisation", "training", "time (s)"):
        models.add_column(column)
    for m in result.models:
        models.add_row(m.label, m.init, m.status, f"{m.seconds:.0f}")
    console.print(models)
    results = ExperimentLayout(result.run_dir).read_results()
    console.print(results_table(results))
    console.print(f"{_legend(results)}; * the headline ({results['best_chosen_on']})")
    console.print("full names, per class results and paired differences: results.md below")
    steps = ", ".join(f"{name} {sec:.0f} s" for name, sec in result.steps.items())
    console.print(f"time: {sum(result.steps.values()):.0f} s ({steps})")
    console.print(f"results: {result.results_md}")
    console.print(f"report:  {result.report}")
    console.print(f"demo:    {footreid_executable()} serve {result.run_dir}   (or: make demo)")


def short_name(name: str) -> str:
    """A method's name as the quickstart's table shows it (``SHORT_NAMES``)."""
    for long, short in SHORT_NAMES:
        name = name.replace(long, short)
    return name


def results_table(results: dict[str, Any]) -> Table:
    """The quickstart's final table: mAP with its interval, Rank-1 and CMC@5 (%)."""
    from rich.table import Table

    split = (results.get("dataset") or {}).get("split") or "test"
    table = Table(title=f"{split} results (%)")
    table.add_column("method")
    for column in ("mAP", "mAP 95 % CI", "Rank-1", "CMC@5"):
        table.add_column(column, justify="right")
    for m in results["methods"]:
        metrics, interval = m["metrics"], (m.get("interval") or {}).get("mAP")
        ci = f"[{100 * interval['low']:.1f}, {100 * interval['high']:.1f}]" if interval else ""
        star = " *" if m["slug"] == results.get("best_method") else ""
        cmc5 = f"{100 * metrics['cmc'][4]:.2f}" if len(metrics["cmc"]) > 4 else "-"
        row = (f"{100 * metrics['mAP']:.2f}", ci, f"{100 * metrics['rank1']:.2f}", cmc5)
        table.add_row(short_name(m["name"]) + star, *row)
    return table


def _legend(results: dict[str, Any]) -> str:
    """What the table's short names stand for (see ``SHORT_NAMES``)."""
    tuning = (results.get("dataset") or {}).get("tuning_split") or "valid"
    return f"w: weighted average, rr: re-ranked, tuned: weights chosen on {tuning}"


def register(app: typer.Typer) -> None:
    """Add ``quickstart`` to the ``footreid`` app."""
    app.command("quickstart")(quickstart_command)
