"""Rows of several seeds' tables combined: mean, std over seeds and intervals over actions.

A row's spread has two sources, reported separately: the **std over training seeds**
(how much the number moves when the same recipe is trained again) and the **95 %
interval over actions** (how much it would move on other actions of the same kind: a
bootstrap over actions of the seed-averaged per-query values, see
:mod:`footreid.evaluate.intervals`). Rows that do not depend on a seed (pretrained or
training-free models) have no std.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace

import numpy as np

from footreid.evaluate.intervals import Interval, paired_differences, value_intervals
from footreid.evaluate.per_query import CLASS_GROUPS, class_group
from footreid.experiment.config import slugify
from footreid.experiment.rows import SeedRow, SeedTable

LEVEL = 0.95


@dataclass
class TableRow:
    """One row of the final table, over every seed.

    Attributes:
        key, slug, name: identity (slug and name of the first seed when all agree).
        seeds: the training seeds, in order; per_seed: the row of each.
        seeded: True when the row differs between seeds.
        interval: 95 % bootstrap intervals of the seed-mean mAP and Rank-1 (None: off).
    """

    key: str
    slug: str
    name: str
    seeds: list[int]
    per_seed: list[SeedRow]
    seeded: bool
    interval: dict[str, Interval] | None = None

    def values(self) -> np.ndarray:
        """(N, 2) float64 per-query AP and rank-1 hit, averaged over seeds."""
        return np.mean([_values(r) for r in self.per_seed], axis=0)

    def mean(self, metric: str) -> float:
        """Mean over seeds of ``mAP`` or ``rank1``."""
        return float(np.mean([getattr(r.result.result, metric) for r in self.per_seed]))

    def std(self, metric: str) -> float | None:
        """Sample std (ddof 1) over seeds; None for one seed or a seed-free row."""
        if not self.seeded or len(self.per_seed) < 2:
            return None
        return float(np.std([getattr(r.result.result, metric) for r in self.per_seed], ddof=1))

    def cmc(self) -> np.ndarray:
        """(max_rank,) mean CMC over seeds."""
        return np.mean([r.result.result.cmc for r in self.per_seed], axis=0)

    def per_class(self) -> dict[str, dict[str, float | int]]:
        """Class group -> mean-over-seeds mAP, Rank-1 and query count."""
        first = self.per_seed[0].result
        clazz = first.query_clazz[first.result.query_row]
        groups = np.array([class_group(str(c)) for c in clazz])
        values = self.values()
        return {
            g: {
                "mAP": float(values[groups == g, 0].mean()),
                "rank1": float(values[groups == g, 1].mean()),
                "num_queries": int((groups == g).sum()),
            }
            for g in CLASS_GROUPS
            if (groups == g).any()
        }


@dataclass(frozen=True)
class Comparison:
    """Paired difference B - A of the seed-mean metrics on the same queries."""

    a: str
    b: str
    difference: dict[str, Interval]
    p_value: dict[str, float]


def _values(row: SeedRow) -> np.ndarray:
    r = row.result.result
    return np.stack([r.average_precision, (r.first_match_rank == 1).astype(np.float64)], 1)


def aggregate(tables: Mapping[int, SeedTable]) -> tuple[list[TableRow], str]:
    """Rows keyed across seeds, and the headline row's key.

    When the seeds chose different headlines, a ``selected`` row holds each seed's
    headline and is the headline of the table.
    """
    seeds = list(tables)
    heads = {tables[s].best for s in seeds}
    per_seed = {s: {r.key: r for r in tables[s].rows} for s in seeds}
    best = heads.pop() if len(heads) == 1 else "selected"
    if best == "selected":
        for s in seeds:
            head = per_seed[s][tables[s].best]
            per_seed[s]["selected"] = replace(head, key="selected", slug="selected")
    keys = list(dict.fromkeys(k for s in seeds for k in per_seed[s]))
    rows = []
    for key in keys:
        seed_rows = [per_seed[s][key] for s in seeds]
        rows.append(_table_row(key, seeds, seed_rows))
    return rows, best


def _table_row(key: str, seeds: list[int], seed_rows: list[SeedRow]) -> TableRow:
    first = seed_rows[0]
    same = all(r.slug == first.slug and r.spec.name == first.spec.name for r in seed_rows)
    slug = first.slug if same else slugify(key.replace(":", "_"))
    name = first.spec.name if same else generic_name(key)
    reference = first.result.result
    seeded = any(
        not np.array_equal(r.result.result.average_precision, reference.average_precision)
        for r in seed_rows[1:]
    )
    return TableRow(key, slug, name, seeds, seed_rows, seeded)


def generic_name(key: str) -> str:
    """The name of a row whose choice differs between seeds (its slug then says less)."""
    kind, _, arg = key.partition(":")
    names = {
        "weighted_tuned": "weighted average, weights chosen per seed",
        "rerank": f"chosen ensemble + rerank {arg}",
        "aqe": f"chosen ensemble + AQE k={arg}",
        "selected": "headline chosen per seed",
    }
    return names.get(kind, f"{key} (chosen per seed)")


def add_intervals(rows: Sequence[TableRow], resamples: int, seed: int) -> None:
    """Fill every row's ``interval`` (bootstrap over actions of the seed-mean values)."""
    for row in rows:
        actions = row.per_seed[0].result.result.action_idx
        row.interval = value_intervals(row.values(), actions, resamples, LEVEL, seed)


def compare(a: TableRow, b: TableRow, resamples: int, seed: int) -> Comparison:
    """B - A on the same queries, both seed-averaged, over the same resampled actions."""
    ra, rb = a.per_seed[0].result.result, b.per_seed[0].result.result
    if not np.array_equal(ra.bbox_idx, rb.bbox_idx):
        raise ValueError(f"rows {a.slug} and {b.slug} do not score the same queries")
    paired = paired_differences(a.values(), b.values(), ra.action_idx, resamples, LEVEL, seed)
    intervals = {metric: p.difference for metric, p in paired.items()}
    p_values = {metric: p.p_value for metric, p in paired.items()}
    return Comparison(a.slug, b.slug, intervals, p_values)
