"""One row per query, and results per class of the query, of an evaluated method.

:func:`per_query_rows` is what ``per_query/<method>.csv`` holds (AP, first-match rank and
top-1 crop of each evaluated query); :func:`class_breakdown` groups the same per-query
values by the SoccerNet class of the query (players, goalkeepers, referees, staff), as
the tables of ``footreid evaluate`` and of results.md show them.
"""

from __future__ import annotations

import csv
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from footreid.core.io import atomic_write
from footreid.evaluate.methods import MethodResult
from footreid.evaluate.metrics import rank_order

PER_QUERY_COLUMNS: tuple[str, ...] = (
    "query_bbox_idx",
    "action_idx",
    "person_uid",
    "clazz",
    "ap",
    "first_match_rank",
    "top1_gallery_bbox_idx",
    "top1_correct",
)


def per_query_rows(method: MethodResult) -> list[dict[str, Any]]:
    """One row per evaluated query (columns :data:`PER_QUERY_COLUMNS`).

    ``ap`` in [0, 1]; ``first_match_rank`` 1-based; ``top1_gallery_bbox_idx`` the
    ``bbox_idx`` of the closest gallery crop of the query's action (the metrics' tie
    order); ``top1_correct`` 1 when it has the query's ``person_uid``, else 0. Queries
    without a match in their action are skipped, as the protocol does.
    """
    split, result = method.dist.split, method.result
    top1 = np.full(split.num_queries, -1, dtype=np.int64)
    for block in method.dist:
        if block.qg.shape[1]:
            top1[block.query] = block.gallery[rank_order(block.qg)[:, 0]]
    rows = []
    for i, q in enumerate(result.query_row):
        g = int(top1[q])
        rows.append(
            {
                "query_bbox_idx": int(split.query_bbox_idx[q]),
                "action_idx": int(split.query_action_idx[q]),
                "person_uid": str(split.query_person_uid[q]),
                "clazz": str(method.query_clazz[q]),
                "ap": round(float(result.average_precision[i]), 6),
                "first_match_rank": int(result.first_match_rank[i]),
                "top1_gallery_bbox_idx": int(split.gallery_bbox_idx[g]),
                "top1_correct": int(split.gallery_person_uid[g] == split.query_person_uid[q]),
            }
        )
    return rows


def write_per_query_csv(path: str | Path, rows: Sequence[Mapping[str, Any]]) -> Path:
    """Write :func:`per_query_rows` as CSV (header :data:`PER_QUERY_COLUMNS`), atomically."""
    path = Path(path)
    with atomic_write(path, "w") as handle:
        writer = csv.DictWriter(handle, fieldnames=list(PER_QUERY_COLUMNS), lineterminator="\n")
        writer.writeheader()
        writer.writerows(rows)
    return path


CLASS_GROUPS: tuple[str, ...] = ("players", "goalkeepers", "referees", "staff", "other")


def class_group(clazz: str) -> str:
    """SoccerNet ``clazz`` -> players, goalkeepers, referees, staff or other."""
    if clazz.startswith("Player_"):
        return "players"
    if clazz.startswith("Goalkeeper_"):
        return "goalkeepers"
    if clazz in ("Main_referee", "Side_referee"):
        return "referees"
    if clazz == "Staff_members":
        return "staff"
    return "other"


def class_breakdown(method: MethodResult) -> dict[str, dict[str, float | int]]:
    """mAP and Rank-1 per query class group (only groups with evaluated queries).

    Returns:
        group -> ``{"mAP", "rank1", "num_queries"}`` (fractions in [0, 1]), in
        :data:`CLASS_GROUPS` order.
    """
    result = method.result
    groups = np.array([class_group(str(c)) for c in method.query_clazz[result.query_row]])
    out: dict[str, dict[str, float | int]] = {}
    for group in CLASS_GROUPS:
        mask = groups == group
        if mask.any():
            out[group] = {
                "mAP": float(result.average_precision[mask].mean()),
                "rank1": float((result.first_match_rank[mask] == 1).mean()),
                "num_queries": int(mask.sum()),
            }
    return out
