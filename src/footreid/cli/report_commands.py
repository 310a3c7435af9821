"""Report command: ``footreid report RUN_DIR`` writes the HTML report of a run."""

from __future__ import annotations

from pathlib import Path

import typer


def report_command(
    run_dir: Path = typer.Argument(..., help="Run directory of footreid experiment."),
    out: Path | None = typer.Option(None, "--out", help="Output folder (default RUN_DIR/report)."),
    examples: int = typer.Option(4, "--examples", min=1, help="Queries per best/worst grid."),
    top_k: int = typer.Option(10, "--top-k", min=1, max=30, help="Ranked crops per query."),
) -> None:
    """Write the HTML report (results, CMC, ranked examples, errors, training curves)."""
    from footreid.cli.console import make_console
    from footreid.cli.shell import footreid_executable
    from footreid.report import build_report

    page = build_report(run_dir, out, examples=examples, top_k=top_k)
    console = make_console()
    console.print(f"report: [bold]{page}[/bold] (figures as PNG beside it)")
    console.print(f"open it with: xdg-open {page}   demo: {footreid_executable()} serve {run_dir}")


def register(app: typer.Typer) -> None:
    """Add ``report`` to the ``footreid`` app."""
    app.command("report")(report_command)
