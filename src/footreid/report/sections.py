"""The sections of the report page: results, ranked examples, error analysis, training."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import numpy as np

from footreid.core.log import get_logger
from footreid.evaluate.metrics import EvalResult
from footreid.report import figures
from footreid.report.errors import CATEGORIES
from footreid.report.grids import GridRow, draw_grid
from footreid.report.html import Figure, Section, table
from footreid.report.outcomes import MethodOutcome
from footreid.report.run import MethodEntry, RunResults, ranked_queries

log = get_logger(__name__)


def _pct(value: float) -> str:
    return "-" if value is None or not np.isfinite(value) else f"{100 * value:.2f}"


def _spread(method: MethodEntry, metric: str) -> str:
    """``55.50 ± 1.20 [52.1, 58.3]``: mean ± std over seeds, 95 % interval over actions."""
    text = _pct(method.metrics[metric])
    if method.std is not None:
        text += f" ± {100 * method.std[metric]:.2f}"
    if method.interval is not None:
        i = method.interval[metric]
        text += f" [{100 * i['low']:.1f}, {100 * i['high']:.1f}]"
    return text


def results_section(run: RunResults, mismatches: list[str], out: Path) -> Section:
    """Results table (per-query CSV links relative to ``out``), bar chart, CMC curves."""
    rows, links = [], {}
    for r, m in enumerate(run.methods):
        cmc = m.cmc
        at = [_pct(cmc[k - 1]) if len(cmc) >= k else "-" for k in (5, 10, 20)]
        time_s = "-" if m.time_s is None else f"{m.time_s:.2f}"
        csv = m.per_query_csv.name if m.per_query_csv else "-"
        if m.per_query_csv and m.per_query_csv.is_file():
            links[(r, 8)] = Path(
                os.path.relpath(m.per_query_csv.resolve(), out.resolve())
            ).as_posix()
        queries = m.metrics.get("num_queries", "-")
        rows.append([m.name, _spread(m, "mAP"), _spread(m, "rank1"), *at, queries, time_s, csv])
    best = [m.slug for m in run.methods].index(run.best_method)
    header = [
        "method",
        "mAP % (± std) [95 % CI]",
        "Rank-1 % (± std) [95 % CI]",
        "CMC@5",
        "CMC@10",
        "CMC@20",
        "queries",
        "time s",
        "per-query CSV",
    ]
    section = Section("Results")
    section.parts.append(table(header, rows, highlight=best, links=links))
    section.text(
        f"Split '{run.split}', per-action protocol (each query ranked against its own "
        f"action's gallery only). Best method (highlighted): {run.method(run.best_method).name}."
        + (f" Tuning split: '{run.tuning_split}'." if run.tuning_split else "")
    )
    if mismatches:
        section.text(
            "Re-measured metrics differ from results.json: " + "; ".join(mismatches), "warn"
        )
    else:
        section.text(
            "Every method's rankings were rebuilt from the features and re-measured: "
            "mAP and Rank-1 equal results.json (the first seed's, where there are several; "
            "the table shows means over seeds)."
        )
    section.parts.append(
        Figure("metrics.png", "mAP and Rank-1 per method", figures.metric_bars(run.methods))
    )
    section.parts.append(
        Figure("cmc.png", "Measured CMC curves, ranks 1-20", figures.cmc_curves(run.methods))
    )
    return section


def _grid_rows(
    run: RunResults, outcome: MethodOutcome, rows: list[int], top_k: int
) -> list[GridRow]:
    crops = outcome.crops
    split = outcome.dist.split
    per_query = dict(
        zip(
            outcome.result.query_row.tolist(),
            outcome.result.average_precision.tolist(),
            strict=True,
        )
    )
    out = []
    for rq in ranked_queries(outcome.dist, rows):
        q = rq.query_row
        label = (
            f"query {split.query_bbox_idx[q]} · action {rq.action_idx} · "
            f"AP {per_query[q]:.2f} · {crops.query_clazz[q] or '?'}"
        )
        g = rq.gallery_rows[:top_k]
        out.append(
            GridRow(
                label=label,
                query_image=run.split_dir / str(crops.query_path[q]),
                images=[run.split_dir / str(p) for p in crops.gallery_path[g]],
                matches=rq.matches[:top_k].tolist(),
                distances=rq.distances[:top_k].tolist(),
            )
        )
    return out


def pick_examples(result: EvalResult, count: int) -> tuple[list[int], list[int]]:
    """Query rows of the ``count`` best (highest AP) and worst (lowest AP) queries.

    Ties break by first-match rank, then by query row, so the choice is deterministic;
    the two lists never share a query.
    """
    rows, ap, first = result.query_row, result.average_precision, result.first_match_rank
    best = np.lexsort((rows, first, -ap))[:count]
    taken = set(best.tolist())
    worst = [i for i in np.lexsort((rows, -first, ap)).tolist() if i not in taken][:count]
    return [int(rows[i]) for i in best], [int(rows[i]) for i in worst]


def examples_section(run: RunResults, outcome: MethodOutcome, count: int, top_k: int) -> Section:
    """Ranked-result grids of the best method: its best and worst queries."""
    name = run.method(run.best_method).name
    best, worst = pick_examples(outcome.result, count)
    section = Section(f"Ranked results of {name}")
    section.text(
        f"Each row: the query (blue), then the top {top_k} crops of its own action, "
        "green = same person, red = another person, d = distance (lower is closer)."
    )
    for kind, rows in (("best", best), ("worst", worst)):
        png = draw_grid(
            _grid_rows(run, outcome, rows, top_k),
            f"{name}: the {len(rows)} {kind} queries (by AP)",
            top_k,
        )
        section.parts.append(Figure(f"grid_{kind}.png", f"{kind.capitalize()} queries", png))
    return section


def errors_section(run: RunResults, outcomes: dict[str, MethodOutcome]) -> Section:
    """First-rank error categories per method, and the best method's breakdowns."""
    section = Section("Error analysis")
    section.text(
        "A first-rank error: the top crop of the query's action is another person. "
        "'Same team player' errors are the same kit: how often 'similar colours' "
        "explain a first-rank error, measured."
    )
    used = [c for c in CATEGORIES if any(o.errors.categories[c] for o in outcomes.values())]
    rows = []
    for m in run.methods:
        e = outcomes[m.slug].errors
        rows.append([m.name, e.num_queries, e.num_errors, *(e.categories[c] for c in used)])
    section.parts.append(table(["method", "queries", "rank-1 errors", *used], rows))
    section.parts.append(
        Figure(
            "errors.png",
            "Share of first-rank errors by category",
            figures.error_shares(
                [m.name for m in run.methods],
                [outcomes[m.slug].errors.categories for m in run.methods],
            ),
        )
    )
    best = outcomes[run.best_method].errors
    section.heading(f"{run.method(run.best_method).name}: by query class")
    section.parts.append(
        table(
            ["query class", "queries", "mAP %", "Rank-1 %"],
            [[k, n, _pct(a), _pct(r)] for k, (n, a, r) in best.by_query_group.items()],
        )
    )
    section.heading("By query crop height (quartiles; small crops = far, blurred players)")
    if best.by_height:
        section.parts.append(
            table(
                ["height", "queries", "mAP %", "Rank-1 %"],
                [[h, n, _pct(a), _pct(r)] for h, n, a, r in best.by_height],
            )
        )
    else:
        section.text("The crop file names carry no HxW field: no size breakdown.")
    return section


def training_section(run: RunResults) -> Section | None:
    """Training curves of the models that name a training run with a metrics.jsonl."""
    section = Section("Training curves")
    for model in run.models:
        if model.train_run is None:
            continue
        path = model.train_run / "metrics.jsonl"
        records = _read_jsonl(path)
        png = figures.training_curves(model.name, records) if records else None
        if png is None:
            section.text(f"{model.name}: no per-epoch values in {path}")
            continue
        safe = "".join(ch if ch.isalnum() or ch in "-_" else "_" for ch in model.name)
        section.parts.append(Figure(f"train_{safe}.png", f"{model.name} ({path})", png))
    return section if section.parts else None


def _read_jsonl(path: Path) -> list[dict[str, Any]]:
    if not path.is_file():
        return []
    records, bad = [], 0
    for line in path.read_text(encoding="utf-8").splitlines():
        try:
            rec = json.loads(line)
        except ValueError:
            bad += 1
            continue
        if isinstance(rec, dict):
            records.append(rec)
    if bad:
        log.warning("%s: %d unreadable lines skipped", path, bad)
    return records
