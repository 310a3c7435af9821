"""``footreid evaluate-ranking``: score a challenge ranking file against the ground truth."""

from __future__ import annotations

from pathlib import Path

import typer

CMC_RANKS = (1, 5, 10, 20)


def evaluate_ranking_command(
    gt: Path = typer.Argument(..., help="Official ground truth (reid/<split>/bbox_info.json)."),
    ranking: Path = typer.Argument(..., help="Ranking JSON: {query bbox_idx: [gallery ids]}."),
    json_out: Path | None = typer.Option(
        None, "--json", help="Also write the metrics (and per-query AP) to this JSON file."
    ),
    max_rank: int = typer.Option(20, "--max-rank", min=1, help="Length of the CMC curve."),
) -> None:
    """Compute mAP / Rank-1 / CMC of a ranking file with the official per-action rules."""
    from rich.table import Table

    from footreid.cli.console import make_console
    from footreid.core.io import atomic_write_json, check_writable
    from footreid.evaluate.ranking import evaluate_ranking

    if json_out is not None:
        check_writable(json_out.parent)
    result = evaluate_ranking(gt, ranking, max_rank=max_rank)
    table = Table(title=f"{ranking.name} vs {gt.name}")
    table.add_column("metric")
    table.add_column("value", justify="right")
    table.add_row("mAP", f"{result.mAP:.2%}")
    for k in CMC_RANKS:
        if k <= max_rank:
            table.add_row(f"Rank-{k}", f"{result.cmc[k - 1]:.2%}")
    table.add_row("queries", str(result.num_queries))
    table.add_row("skipped (no match)", str(result.num_skipped))
    make_console().print(table)
    if json_out is not None:
        atomic_write_json(json_out, result.as_dict(per_query=True))
        make_console().print(f"metrics written to {json_out}")


def register(app: typer.Typer) -> None:
    """Add ``evaluate-ranking`` to the ``footreid`` app."""
    app.command("evaluate-ranking")(evaluate_ranking_command)
