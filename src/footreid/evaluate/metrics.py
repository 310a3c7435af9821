"""Per-action mAP and CMC, exactly as the SoccerNet-v3 ReID protocol defines them.

The official protocol (``docs/protocol.md``, "Evaluation"): each query is ranked against
the gallery of its own action only, by ascending distance; a query without a match in
its action is skipped; AP is the mean of precision@k over the positions k of the
matches in the whole same-action list; CMC@k is the fraction of queries with a match in
the first k. Beyond the longest gallery of an action the CMC stays at its last value
(the official code zero-pads it instead; rank-1 and mAP are unaffected).

Ties: equal distances keep the gallery order of the block (a stable sort), and
:func:`rank_order` is the single place that order is decided, so a ranking exported by
:mod:`footreid.evaluate.ranking` scores the same in the official evaluator.

Both entry points (distance blocks, ranked lists read from files) reduce to one flat
vector of ranked match flags plus one length per query, scored by :func:`_score_segments`
without any Python loop over queries.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from footreid.core.errors import DataError
from footreid.evaluate.distances import ActionDistances, EvalSplit


@dataclass
class EvalResult:
    """Metrics of one split; per-query arrays cover the evaluated (non-skipped) queries.

    Attributes:
        mAP: mean average precision over evaluated queries, in [0, 1].
        rank1: CMC@1, in [0, 1].
        cmc: (max_rank,) float64, ``cmc[k - 1]`` = fraction of queries matched within k.
        num_queries: queries evaluated (with at least one match in their action).
        num_skipped: queries skipped because their action's gallery holds no match.
        query_row: (N,) int64 rows of the split's query arrays, ascending.
        bbox_idx, action_idx: (N,) int64 of those queries.
        average_precision: (N,) float64 AP of each query.
        first_match_rank: (N,) int64 1-based rank of the first match.
        skipped_bbox_idx: (num_skipped,) int64 ``bbox_idx`` of the skipped queries.
    """

    mAP: float  # the protocol's spelling, part of the shared contract
    rank1: float
    cmc: np.ndarray
    num_queries: int
    num_skipped: int
    query_row: np.ndarray
    bbox_idx: np.ndarray
    action_idx: np.ndarray
    average_precision: np.ndarray
    first_match_rank: np.ndarray
    skipped_bbox_idx: np.ndarray

    @property
    def max_rank(self) -> int:
        return int(self.cmc.shape[0])

    def as_dict(self, per_query: bool = False) -> dict[str, Any]:
        """JSON-ready summary; ``per_query`` adds the per-query arrays as lists."""
        out: dict[str, Any] = {
            "mAP": float(self.mAP),
            "rank1": float(self.rank1),
            "cmc": [float(v) for v in self.cmc],
            "max_rank": self.max_rank,
            "num_queries": int(self.num_queries),
            "num_skipped": int(self.num_skipped),
            "skipped_bbox_idx": [int(v) for v in self.skipped_bbox_idx],
        }
        if per_query:
            out["per_query"] = {
                "bbox_idx": self.bbox_idx.tolist(),
                "action_idx": self.action_idx.tolist(),
                "average_precision": self.average_precision.tolist(),
                "first_match_rank": self.first_match_rank.tolist(),
            }
        return out


def rank_order(qg: np.ndarray) -> np.ndarray:
    """Ranking of one action block: ascending distance, ties kept in gallery order.

    Args:
        qg: (Q, G) distances, lower is closer.

    Returns:
        (Q, G) int64 column indices of ``qg``, best first (a stable sort).
    """
    return np.argsort(qg, axis=1, kind="stable")


def identity_codes(split: EvalSplit) -> tuple[np.ndarray, np.ndarray]:
    """Integer codes of the query and gallery ``person_uid`` (equal code = same person).

    Returns:
        (Q,) and (G,) int64 codes.

    Raises:
        DataError: the split has no identity labels (e.g. the challenge split).
    """
    if not split.labelled:
        raise DataError(
            None,
            "the split has crops without person_uid (challenge split?): metrics need "
            "labels; export a ranking (footreid.evaluate.ranking) instead",
        )
    uids = np.concatenate([split.query_person_uid, split.gallery_person_uid])
    _, codes = np.unique(uids, return_inverse=True)
    codes = codes.astype(np.int64).reshape(-1)
    return codes[: split.num_queries], codes[split.num_queries :]


def evaluate_distances(dist: ActionDistances, max_rank: int = 20) -> EvalResult:
    """Per-action mAP and CMC of distance blocks (the official protocol).

    Args:
        dist: one block per action with queries; ``qg`` (Q_a, G_a), lower is closer.
        max_rank: length of the CMC curve.

    Returns:
        The :class:`EvalResult`; queries without a match in their action are skipped.
    """
    q_code, g_code = identity_codes(dist.split)
    hits, lengths, rows = [], [], []
    for block in dist:
        n_q, n_g = block.qg.shape
        if n_q != len(block.query) or n_g != len(block.gallery):
            raise DataError(
                None,
                f"action {block.action_idx}: block shape {block.qg.shape} "
                f"does not match {len(block.query)} queries x "
                f"{len(block.gallery)} gallery rows",
            )
        if not np.isfinite(block.qg).all():
            raise DataError(None, f"action {block.action_idx}: distances contain NaN or inf")
        ranked = g_code[block.gallery][rank_order(block.qg)]
        hits.append((ranked == q_code[block.query][:, None]).ravel())
        lengths.append(np.full(n_q, n_g, dtype=np.int64))
        rows.append(np.asarray(block.query, dtype=np.int64))
    if not rows:
        raise DataError(None, "no action block to evaluate (the split has no query)")
    return evaluate_flat_matches(
        np.concatenate(hits), np.concatenate(lengths), np.concatenate(rows), dist.split, max_rank
    )


def evaluate_flat_matches(
    hits: np.ndarray, lengths: np.ndarray, rows: np.ndarray, split: EvalSplit, max_rank: int = 20
) -> EvalResult:
    """Per-action mAP and CMC of ranked match lists stored back to back.

    Args:
        hits: (T,) bool match flags of every query's ranked same-action list, best first.
        lengths: (N,) int64 length of each list (summing to T).
        rows: (N,) int64 query row (in ``split``'s query arrays) of each list.
        split: the split the rows refer to.
        max_rank: length of the CMC curve.

    Returns:
        The :class:`EvalResult`; lists without a match are skipped queries.
    """
    if hits.shape != (int(lengths.sum()),) or rows.shape != lengths.shape:
        raise ValueError(
            f"{hits.shape[0]} match flags, {lengths.shape[0]} lengths summing to "
            f"{int(lengths.sum())} and {rows.shape[0]} query rows do not agree"
        )
    if max_rank < 1:
        raise ValueError(f"max_rank must be >= 1, got {max_rank}")
    if np.unique(rows).shape != rows.shape:
        raise DataError(None, "a query row is scored twice (overlapping distance blocks?)")
    ap, first = _score_segments(hits, lengths)
    keep = first > 0
    if not keep.any():
        raise DataError(None, "no query has a match in its action's gallery: nothing to evaluate")
    order = np.argsort(rows[keep], kind="stable")
    rows_k, ap_k, first_k = rows[keep][order], ap[keep][order], first[keep][order]
    ranks = np.arange(1, max_rank + 1)
    cmc = (first_k[None, :] <= ranks[:, None]).mean(axis=1, dtype=np.float64)
    skipped = np.sort(rows[~keep])
    return EvalResult(
        mAP=float(ap_k.mean()),
        rank1=float(cmc[0]),
        cmc=cmc,
        num_queries=int(keep.sum()),
        num_skipped=int((~keep).sum()),
        query_row=rows_k,
        bbox_idx=split.query_bbox_idx[rows_k].astype(np.int64),
        action_idx=split.query_action_idx[rows_k].astype(np.int64),
        average_precision=ap_k,
        first_match_rank=first_k,
        skipped_bbox_idx=split.query_bbox_idx[skipped].astype(np.int64),
    )


def _score_segments(hits: np.ndarray, lengths: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """AP and first-match rank of ranked lists stored back to back.

    Args:
        hits: (T,) bool match flags of all lists, each best first.
        lengths: (N,) int64 list lengths, summing to T.

    Returns:
        ap: (N,) float64, NaN for a list without a match.
        first: (N,) int64 1-based rank of the first match, 0 for a list without one.
    """
    n = lengths.shape[0]
    starts = np.concatenate([[0], np.cumsum(lengths)[:-1]]).astype(np.int64)
    seg = np.repeat(np.arange(n), lengths)
    pos = np.arange(hits.shape[0], dtype=np.int64) - starts[seg] + 1  # 1-based rank
    csum = np.concatenate([[0], np.cumsum(hits, dtype=np.int64)])
    hits_so_far = csum[1:] - csum[starts][seg]  # matches within the first `pos` items
    precision_at_hit = np.where(hits, hits_so_far / pos, 0.0)
    num_rel = np.bincount(seg, weights=hits, minlength=n)
    ap_sum = np.bincount(seg, weights=precision_at_hit, minlength=n)
    with np.errstate(invalid="ignore", divide="ignore"):
        ap = np.where(num_rel > 0, ap_sum / num_rel, np.nan)
    first = np.zeros(n, dtype=np.int64)
    hit_at = np.flatnonzero(hits)
    segs_with_hit, first_hit = np.unique(seg[hit_at], return_index=True)
    first[segs_with_hit] = pos[hit_at[first_hit]]
    return ap, first
