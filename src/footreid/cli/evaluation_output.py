"""Output of ``footreid evaluate`` / ``ensemble``: one JSON document, or tables.

The tables and ``--json`` read the same records (:mod:`footreid.evaluate.summary`), so the
two outputs cannot disagree. Tables show percentages; an interval reads
``55.50 [53.1, 57.9]``.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

import typer
from rich.console import Console
from rich.table import Table

from footreid.cli.console import make_console
from footreid.evaluate.per_query import CLASS_GROUPS
from footreid.evaluate.summary import BootstrapSettings, evaluation_document


def print_report(
    command: str,
    title: str,
    records: Sequence[dict[str, Any]],
    comparisons: Sequence[dict[str, Any]],
    bootstrap: BootstrapSettings | None,
    json_output: bool,
) -> None:
    """The JSON document alone on stdout (``json_output``), else the tables on stdout."""
    if json_output:
        document = evaluation_document(command, records, comparisons, bootstrap)
        typer.echo(json.dumps(document, indent=2, allow_nan=False))
        return
    if records:
        console = make_console()
        print_methods(console, title, records)
        print_breakdown(console, records)
        print_comparisons(console, comparisons)


def interval_cell(value: float, interval: dict[str, Any] | None) -> str:
    """``"55.50%"``, or ``"55.50 [53.1, 57.9]"`` with an interval (fractions -> percent)."""
    if interval is None:
        return f"{value:.2%}"
    return f"{100 * value:.2f} [{100 * interval['low']:.1f}, {100 * interval['high']:.1f}]"


def _ci_header(name: str, records: Sequence[dict[str, Any]]) -> str:
    intervals = next((r["intervals"] for r in records if r["intervals"]), None)
    if intervals is None:
        return name
    return f"{name} % ({100 * intervals['mAP']['level']:g} % CI)"


def print_methods(console: Console, title: str, records: Sequence[dict[str, Any]]) -> None:
    """One row per method: mAP and Rank-1 (with intervals when bootstrapped), CMC, counts."""
    ranks = [k for k in ("5", "10", "20") if any(k in r["cmc"] for r in records)]
    table = Table(title=title)
    columns = [_ci_header("mAP", records), _ci_header("Rank-1", records)]
    columns += [f"CMC@{k}" for k in ranks] + ["queries", "actions", "time (s)"]
    table.add_column("method")
    for col in columns:
        table.add_column(col, justify="right")
    for r in records:
        iv = r["intervals"] or {}
        table.add_row(
            r["name"],
            interval_cell(r["mAP"], iv.get("mAP")),
            interval_cell(r["rank1"], iv.get("rank1")),
            *(f"{r['cmc'][k]:.2%}" if k in r["cmc"] else "-" for k in ranks),
            str(r["num_queries"]),
            str(r["num_actions"]),
            f"{r['time_s']:.2f}",
        )
    console.print(table)


def print_breakdown(console: Console, records: Sequence[dict[str, Any]]) -> None:
    """mAP / Rank-1 / queries per class group of the query."""
    table = Table(title="per class of the query (mAP / Rank-1 / queries)")
    table.add_column("method")
    columns = [g for g in CLASS_GROUPS if any(g in r["per_class"] for r in records)]
    for g in columns:
        table.add_column(g, justify="right")
    for r in records:
        cells = [
            f"{b['mAP']:.2%} / {b['rank1']:.2%} / {b['num_queries']}"
            if (b := r["per_class"].get(g))
            else "-"
            for g in columns
        ]
        table.add_row(r["name"], *cells)
    console.print(table)


def print_comparisons(console: Console, comparisons: Sequence[dict[str, Any]]) -> None:
    """B - A in points of mAP and Rank-1 with the interval and the one-sided p-value.

    ``p(<=0)`` is the share of resamples where B is not better than A (see
    :class:`footreid.evaluate.intervals.PairedDifference`).
    """
    if not comparisons:
        return
    level = comparisons[0]["mAP"]["difference"]["level"]
    table = Table(title=f"paired bootstrap over actions: B - A (points, {100 * level:g} % CI)")
    for col in ("B", "A", "mAP", "p(<=0)", "Rank-1", "p(<=0)"):
        table.add_column(col, justify="left" if col in ("A", "B") else "right")
    for c in comparisons:
        cells = []
        for metric in ("mAP", "rank1"):
            d = c[metric]["difference"]
            cells += [
                f"{100 * d['estimate']:+.2f} [{100 * d['low']:+.1f}, {100 * d['high']:+.1f}]",
                f"{c[metric]['p_value']:.3f}",
            ]
        table.add_row(c["b"], c["a"], *cells)
    console.print(table)
