"""Error analysis: who is the wrong person ranked first, and which queries fail.

"Similar colours" (eleven players share a kit) and occlusion / scale are the usual
explanations of ReID errors on broadcast football; these counts measure the first. A
first-rank error is a query whose top-ranked crop of its action is another person; the
category compares the two SoccerNet classes
(``clazz``): a player of the same team (same kit), of the other team, a goalkeeper, a
referee, staff, or a player whose team is unknown (``Player_team_unknown_*``).
"""

from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass

import numpy as np

from footreid.evaluate.distances import ActionDistances
from footreid.evaluate.metrics import EvalResult, rank_order

CATEGORIES: tuple[str, ...] = (
    "same team player",
    "other team player",
    "goalkeeper",
    "referee",
    "staff",
    "player, unknown team",
    "player, query without team",
    "unknown class",
)
"""First-rank error categories, in display order."""

QUERY_GROUPS: tuple[str, ...] = ("player", "goalkeeper", "referee", "other")
_HxW = re.compile(r"-(\d+)x(\d+)\.[A-Za-z]+$")


def team_of(clazz: str) -> str | None:
    """``left`` / ``right`` for the classes of a known team, else None."""
    for side in ("left", "right"):
        if clazz.endswith(f"_team_{side}"):
            return side
    return None


def query_group(clazz: str) -> str:
    """Coarse class of a crop: player, goalkeeper, referee or other (staff, unknown)."""
    low = clazz.lower()
    if low.startswith("goalkeeper"):
        return "goalkeeper"
    if "referee" in low:
        return "referee"
    if low.startswith("player"):
        return "player"
    return "other"


def error_category(query_clazz: str, wrong_clazz: str) -> str:
    """Category (one of :data:`CATEGORIES`) of a wrong crop ranked first for a query."""
    low = wrong_clazz.lower()
    if not wrong_clazz:
        return "unknown class"
    if "referee" in low:
        return "referee"
    if low.startswith("goalkeeper"):
        return "goalkeeper"
    if low.startswith("staff"):
        return "staff"
    if not low.startswith("player"):
        return "unknown class"
    wrong_team, query_team = team_of(wrong_clazz), team_of(query_clazz)
    if wrong_team is None:
        return "player, unknown team"
    if query_team is None:
        return "player, query without team"
    return "same team player" if wrong_team == query_team else "other team player"


@dataclass
class ErrorAnalysis:
    """What went wrong for one method.

    Attributes:
        num_queries: evaluated queries.
        num_errors: queries whose first-ranked crop is another person.
        categories: count of first-rank errors per :data:`CATEGORIES` entry.
        by_query_group: per query group: number of queries, mAP and Rank-1 in [0, 1].
        by_height: per query crop-height quartile: (label, number, mAP, Rank-1); empty when
            the file names carry no ``HxW`` field.
    """

    num_queries: int
    num_errors: int
    categories: dict[str, int]
    by_query_group: dict[str, tuple[int, float, float]]
    by_height: list[tuple[str, int, float, float]]


def top1_gallery_rows(dist: ActionDistances, result: EvalResult) -> np.ndarray:
    """(N,) int64 gallery row ranked first for each evaluated query of ``result``."""
    top = {}
    for block in dist:
        if len(block.gallery):
            first = rank_order(block.qg)[:, 0]
            top.update(zip(block.query.tolist(), block.gallery[first].tolist(), strict=True))
    return np.asarray([top[int(r)] for r in result.query_row], dtype=np.int64)


def crop_height(path: str) -> int | None:
    """Crop height in pixels from a SoccerNet file name (``...-HxW.png``), else None."""
    match = _HxW.search(path)
    return int(match.group(1)) if match else None


def analyse_errors(
    dist: ActionDistances,
    result: EvalResult,
    query_clazz: np.ndarray,
    gallery_clazz: np.ndarray,
    query_paths: np.ndarray,
) -> ErrorAnalysis:
    """Count first-rank errors by category and break mAP / Rank-1 down by query kind.

    Args:
        dist: the method's per-action distances.
        result: its metrics (``evaluate_distances(dist)``).
        query_clazz, gallery_clazz: (Q,), (G,) str SoccerNet class of every crop.
        query_paths: (Q,) str file names of the queries (for the ``HxW`` field).
    """
    rows = result.query_row
    top = top1_gallery_rows(dist, result)
    wrong = result.first_match_rank != 1
    counts = Counter(
        error_category(str(query_clazz[q]), str(gallery_clazz[g]))
        for q, g in zip(rows[wrong], top[wrong], strict=True)
    )
    groups = np.array([query_group(str(c)) for c in query_clazz[rows]])
    by_group = {
        name: _summary(result, groups == name) for name in QUERY_GROUPS if (groups == name).any()
    }
    return ErrorAnalysis(
        num_queries=int(result.num_queries),
        num_errors=int(wrong.sum()),
        categories={name: int(counts.get(name, 0)) for name in CATEGORIES},
        by_query_group=by_group,
        by_height=_by_height(result, query_paths[rows]),
    )


def _summary(result: EvalResult, mask: np.ndarray) -> tuple[int, float, float]:
    n = int(mask.sum())
    ap = float(result.average_precision[mask].mean()) if n else float("nan")
    r1 = float((result.first_match_rank[mask] == 1).mean()) if n else float("nan")
    return n, ap, r1


def _by_height(result: EvalResult, paths: np.ndarray) -> list[tuple[str, int, float, float]]:
    heights = [crop_height(str(p)) for p in paths]
    if not heights or any(h is None for h in heights):
        return []
    h = np.asarray(heights, dtype=np.float64)
    edges = np.unique(np.quantile(h, [0.0, 0.25, 0.5, 0.75, 1.0]))
    if len(edges) < 2:
        n, ap, r1 = _summary(result, np.ones(len(h), dtype=bool))
        return [(f"{int(edges[0])} px", n, ap, r1)]
    bins = np.clip(np.searchsorted(edges, h, side="right") - 1, 0, len(edges) - 2)
    out = []
    for b in range(len(edges) - 1):
        lo, hi = int(edges[b]), int(edges[b + 1])
        n, ap, r1 = _summary(result, bins == b)
        if n:
            out.append((f"{lo}-{hi} px", n, ap, r1))
    return out
