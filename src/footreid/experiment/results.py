"""``results.json`` (the schema the report and the demo read) and ``results.md``.

results.json::

    {"dataset": {"root": str, "split": str, "tuning_split": str | null},
     "tuning": {"mode": "split" | "crossfit" | "none", "folds": int, "seed": int,
                "description": str},
     "seeds": [int],
     "models": [{"name": str, "checkpoint": str | null, "features": "features/<file>.npz",
                 "features_by_seed": {seed: path}, "train_run": str | null}],
     "methods": [{"name": str, "slug": str, "key": str, "spec": spec of the first seed,
                  "metrics": {"mAP": float, "rank1": float, "cmc": [20 floats],
                              "num_queries": int},   # means over seeds
                  "std": {"mAP": float, "rank1": float} | null,
                  "seeds": [{"seed": int, "mAP": float, "rank1": float}],
                  "interval": {"mAP": Interval, "rank1": Interval} | null,
                  "per_class": {group: {"mAP", "rank1", "num_queries"}},
                  "time_s": float, "per_query_csv": "per_query/<slug>.csv", "note": str}],
     "best_method": slug, "best_chosen_on": str,
     "comparisons": [{"a": slug, "b": slug, "mAP": {"difference": Interval,
                      "p_value": float}, "rank1": {...}}]}

Metrics are fractions in [0, 1]; ``cmc[k - 1]`` is CMC@k, measured from the rankings;
an Interval is :meth:`footreid.evaluate.intervals.Interval.to_dict`. ``std`` is over the
training seeds (null when the row does not depend on a seed); the interval is a bootstrap
over actions of the seed-averaged per-query values. Paths inside the run are relative to
it; the per-query CSV and ``spec`` are the first seed's. ``best_method`` is chosen on the
tuning queries (``best_chosen_on`` says which), never as the maximum of the table.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from footreid.core.io import atomic_write_json, atomic_write_text
from footreid.core.layout import ExperimentLayout
from footreid.evaluate.per_query import CLASS_GROUPS
from footreid.experiment.aggregate import Comparison, TableRow


def row_json(row: TableRow, run_dir: Path, csv: Path) -> dict[str, Any]:
    """One ``methods`` entry of results.json."""
    first = row.per_seed[0].result
    std = {m: row.std(m) for m in ("mAP", "rank1")}
    return {
        "name": row.name,
        "slug": row.slug,
        "key": row.key,
        "spec": first.spec.to_dict(),
        "metrics": {
            "mAP": row.mean("mAP"),
            "rank1": row.mean("rank1"),
            "cmc": [float(v) for v in row.cmc()],
            "num_queries": int(first.result.num_queries),
        },
        "std": None if std["mAP"] is None else std,
        "seeds": [
            {"seed": s, "mAP": r.result.result.mAP, "rank1": r.result.result.rank1}
            for s, r in zip(row.seeds, row.per_seed, strict=True)
        ],
        "interval": None
        if row.interval is None
        else {m: i.to_dict() for m, i in row.interval.items()},
        "per_class": row.per_class(),
        "time_s": round(sum(r.result.time_s for r in row.per_seed) / len(row.per_seed), 4),
        "per_query_csv": csv.relative_to(run_dir).as_posix(),
        "note": row.per_seed[0].note,
    }


def comparison_json(comparison: Comparison) -> dict[str, Any]:
    """One ``comparisons`` entry of results.json."""
    return {
        "a": comparison.a,
        "b": comparison.b,
        **{
            metric: {"difference": interval.to_dict(), "p_value": comparison.p_value[metric]}
            for metric, interval in comparison.difference.items()
        },
    }


def write_results_json(run_dir: Path, document: dict[str, Any]) -> Path:
    """Write ``run_dir/results.json`` atomically (schema in the module docstring)."""
    path = ExperimentLayout(run_dir).results_json
    atomic_write_json(path, document)
    return path


def _pct(value: float) -> str:
    return f"{100 * value:.2f}"


def _cell(row: TableRow, metric: str) -> str:
    """``55.50 ± 1.20`` (mean ± std over seeds) or ``55.50``."""
    std = row.std(metric)
    mean = _pct(row.mean(metric))
    return mean if std is None else f"{mean} ± {100 * std:.2f}"


def _ci(row: TableRow, metric: str) -> str:
    if row.interval is None:
        return "-"
    i = row.interval[metric]
    return f"[{_pct(i.low)}, {_pct(i.high)}]"


def results_table(rows: list[TableRow], best: str) -> list[str]:
    """The Markdown results table (mean ± std over seeds, 95 % intervals over actions)."""
    lines = [
        "| method | mAP | mAP 95 % CI | Rank-1 | Rank-1 95 % CI | CMC@5 | CMC@10 | CMC@20 |",
        "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |",
    ]
    for row in rows:
        name = row.name
        if row.slug == best:
            name = f"**{name}**"
        cmc = row.cmc()
        tail = [_pct(cmc[k - 1]) if k <= len(cmc) else "-" for k in (5, 10, 20)]
        lines.append(
            f"| {name} | {_cell(row, 'mAP')} | {_ci(row, 'mAP')} | {_cell(row, 'rank1')} | "
            f"{_ci(row, 'rank1')} | {' | '.join(tail)} |"
        )
    return lines


def class_table(rows: list[TableRow]) -> list[str]:
    """mAP / Rank-1 per class group of the query (means over seeds)."""
    per_class = {row.slug: row.per_class() for row in rows}
    groups = [g for g in CLASS_GROUPS if any(g in pc for pc in per_class.values())]
    counts = {g: next(pc[g]["num_queries"] for pc in per_class.values() if g in pc) for g in groups}
    header = " | ".join(f"{g} ({counts[g]} queries)" for g in groups)
    lines = [f"| method | {header} |", "| --- |" + " ---: |" * len(groups)]
    for row in rows:
        cells = [
            f"{_pct(pc['mAP'])} / {_pct(pc['rank1'])}"
            if (pc := per_class[row.slug].get(g))
            else "-"
            for g in groups
        ]
        lines.append(f"| {row.name} | {' | '.join(cells)} |")
    return lines


def comparison_lines(comparisons: list[Comparison]) -> list[str]:
    """Paired differences (B - A, points of mAP / Rank-1, with 95 % intervals)."""
    lines = [
        "| B | A | mAP B - A [95 % CI] | p(<= 0) | Rank-1 B - A [95 % CI] | p(<= 0) |",
        "| --- | --- | ---: | ---: | ---: | ---: |",
    ]
    for c in comparisons:
        cells = []
        for metric in ("mAP", "rank1"):
            d = c.difference[metric]
            cells.append(
                f"{100 * d.estimate:+.2f} [{100 * d.low:+.2f}, {100 * d.high:+.2f}] | "
                f"{c.p_value[metric]:.3f}"
            )
        lines.append(f"| {c.b} | {c.a} | {' | '.join(cells)} |")
    return lines


def write_results_md(run_dir: Path, sections: dict[str, list[str]], title: str) -> Path:
    """Write ``run_dir/results.md``: ``## heading`` then its lines, for every section."""
    lines = [f"# {title}", ""]
    for heading, body in sections.items():
        lines += ([f"## {heading}", ""] if heading else []) + body + [""]
    path = ExperimentLayout(run_dir).results_md
    atomic_write_text(path, "\n".join(lines).rstrip() + "\n")
    return path
