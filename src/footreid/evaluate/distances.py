"""Distances computed per action: the only query-gallery pairs the protocol compares.

SoccerNet-v3 ReID ranks each query against the gallery of its own action only
(``docs/protocol.md``), so the full query x gallery matrix (400 M entries on valid) is
never built: an :class:`ActionDistances` holds one small block per action.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Literal

import numpy as np

from footreid.core.errors import DataError
from footreid.core.records import FeatureSet

Metric = Literal["euclidean", "sqeuclidean", "cosine"]
METRICS: tuple[str, ...] = ("euclidean", "sqeuclidean", "cosine")


@dataclass(frozen=True)
class EvalSplit:
    """Labels of a query + gallery split, without features.

    Attributes:
        query_bbox_idx, gallery_bbox_idx: (Q,), (G,) int64 SoccerNet ``bbox_idx``.
        query_action_idx, gallery_action_idx: (Q,), (G,) int64 action of each crop.
        query_person_uid, gallery_person_uid: (Q,), (G,) str identity within its
            action ("" where unknown, as on the challenge split).
    """

    query_bbox_idx: np.ndarray
    query_action_idx: np.ndarray
    query_person_uid: np.ndarray
    gallery_bbox_idx: np.ndarray
    gallery_action_idx: np.ndarray
    gallery_person_uid: np.ndarray

    @classmethod
    def from_features(cls, features: FeatureSet) -> EvalSplit:
        """Labels of a features file's query and gallery rows (in file order)."""
        q, g = features.role == "query", features.role == "gallery"
        return cls(
            query_bbox_idx=features.bbox_idx[q],
            query_action_idx=features.action_idx[q],
            query_person_uid=features.person_uid[q],
            gallery_bbox_idx=features.bbox_idx[g],
            gallery_action_idx=features.action_idx[g],
            gallery_person_uid=features.person_uid[g],
        )

    @property
    def num_queries(self) -> int:
        return int(self.query_bbox_idx.shape[0])

    @property
    def num_gallery(self) -> int:
        return int(self.gallery_bbox_idx.shape[0])

    @property
    def labelled(self) -> bool:
        """True when every query and gallery crop has a ``person_uid``."""
        return bool((self.query_person_uid != "").all() and (self.gallery_person_uid != "").all())

    def action_groups(self) -> Iterator[tuple[int, np.ndarray, np.ndarray]]:
        """Yield ``(action_idx, query_rows, gallery_rows)`` for each action with queries.

        Rows are int64 positions in the query / gallery arrays, in their original order.
        """
        q_order = np.argsort(self.query_action_idx, kind="stable")
        g_order = np.argsort(self.gallery_action_idx, kind="stable")
        q_sorted = self.query_action_idx[q_order]
        g_sorted = self.gallery_action_idx[g_order]
        actions = np.unique(q_sorted)
        q_start = np.searchsorted(q_sorted, actions, side="left")
        q_end = np.searchsorted(q_sorted, actions, side="right")
        g_start = np.searchsorted(g_sorted, actions, side="left")
        g_end = np.searchsorted(g_sorted, actions, side="right")
        for a, qs, qe, gs, ge in zip(actions, q_start, q_end, g_start, g_end, strict=True):
            yield int(a), q_order[qs:qe], g_order[gs:ge]


def pairwise_distance(x: np.ndarray, y: np.ndarray, metric: Metric) -> np.ndarray:
    """Distances between the rows of ``x`` (N, D) and ``y`` (M, D).

    Returns:
        (N, M) float32; lower is closer. ``cosine`` is 1 - cosine similarity (in [0, 2]),
        ``sqeuclidean`` the squared L2 distance, ``euclidean`` its square root.
        L2 uses the expansion |x|^2 + |y|^2 - 2 x.y in float32, so squared distances carry
        an absolute error of about 1e-7 * (|x|^2 + |y|^2) (tested against scipy's cdist).
    """
    x = np.asarray(x, dtype=np.float32)
    y = np.asarray(y, dtype=np.float32)
    if metric == "cosine":
        xn = x / np.maximum(np.linalg.norm(x, axis=1, keepdims=True), 1e-12)
        yn = y / np.maximum(np.linalg.norm(y, axis=1, keepdims=True), 1e-12)
        return (1.0 - xn @ yn.T).astype(np.float32, copy=False)
    if metric in ("euclidean", "sqeuclidean"):
        sq = (x * x).sum(1)[:, None] + (y * y).sum(1)[None, :] - 2.0 * (x @ y.T)
        np.maximum(sq, 0.0, out=sq)
        return np.sqrt(sq) if metric == "euclidean" else sq
    raise ValueError(f"unknown metric '{metric}', expected one of {', '.join(METRICS)}")


@dataclass
class ActionBlock:
    """Distances of one action.

    Attributes:
        action_idx: the action.
        query: (Q,) int64 rows of the split's query arrays.
        gallery: (G,) int64 rows of the split's gallery arrays.
        qg: (Q, G) float32 query-gallery distance, lower is closer.
        qq: (Q, Q) float32 query-query distance, or None (re-ranking needs it).
        gg: (G, G) float32 gallery-gallery distance, or None.
    """

    action_idx: int
    query: np.ndarray
    gallery: np.ndarray
    qg: np.ndarray
    qq: np.ndarray | None = None
    gg: np.ndarray | None = None


@dataclass
class ActionDistances:
    """One :class:`ActionBlock` per action that has queries, for one split."""

    split: EvalSplit
    blocks: list[ActionBlock]
    metric: str
    meta: dict[str, object] = field(default_factory=dict)

    def __iter__(self) -> Iterator[ActionBlock]:
        return iter(self.blocks)

    def __len__(self) -> int:
        return len(self.blocks)

    @property
    def has_within(self) -> bool:
        """True when every block carries its q-q and g-g distances."""
        return all(b.qq is not None and b.gg is not None for b in self.blocks)


def action_distances(
    query: np.ndarray,
    gallery: np.ndarray,
    split: EvalSplit,
    metric: Metric = "cosine",
    within: bool = False,
) -> ActionDistances:
    """Compute per-action distance blocks.

    Args:
        query: (Q, D) float32 query features, rows aligned with ``split``'s query arrays.
        gallery: (G, D) float32 gallery features, aligned with the gallery arrays.
        split: labels and actions of the rows.
        metric: ``cosine``, ``euclidean`` or ``sqeuclidean``.
        within: also compute the q-q and g-g blocks (needed by re-ranking).
    """
    if query.shape[0] != split.num_queries or gallery.shape[0] != split.num_gallery:
        raise DataError(
            None,
            f"features ({query.shape[0]} queries, {gallery.shape[0]} gallery) do not match "
            f"the split ({split.num_queries} queries, {split.num_gallery} gallery)",
        )
    blocks = []
    for action, q_rows, g_rows in split.action_groups():
        qf, gf = query[q_rows], gallery[g_rows]
        blocks.append(
            ActionBlock(
                action_idx=action,
                query=q_rows,
                gallery=g_rows,
                qg=pairwise_distance(qf, gf, metric),
                qq=pairwise_distance(qf, qf, metric) if within else None,
                gg=pairwise_distance(gf, gf, metric) if within else None,
            )
        )
    return ActionDistances(split=split, blocks=blocks, metric=metric)


def feature_distances(
    features: FeatureSet, metric: Metric = "cosine", within: bool = False
) -> ActionDistances:
    """Per-action distances of a features file (query rows vs gallery rows)."""
    split = EvalSplit.from_features(features)
    q, g = features.role == "query", features.role == "gallery"
    dist = action_distances(features.features[q], features.features[g], split, metric, within)
    dist.meta["sources"] = [features.meta.get("model", "?")]
    return dist
