"""Average query expansion (AQE / alpha-QE), per action, on features.

A cheaper alternative to k-reciprocal re-ranking (:mod:`footreid.evaluate.rerank`):
each query feature is replaced by the weighted mean of itself and its ``top_k`` nearest
gallery features **of its own action** (cosine similarity on L2-normalised features),
then re-normalised; distances are then recomputed as usual. Weights follow alpha-QE
(Radenovic et al., TPAMI 2018): the query weighs 1 and a neighbour of similarity s weighs
max(s, 0) ** alpha; ``alpha = 0`` is plain average query expansion (Chum et al., ICCV
2007).

Optionally the gallery is expanded first (database-side augmentation): each gallery
feature becomes the weighted mean of itself and its ``top_k`` nearest *other* gallery
features of the same action; queries are then expanded against that expanded gallery.
Every neighbour set is computed from the features before that step's update (no
in-place cascade). ``top_k`` is clamped to the gallery size of each action.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from footreid.core.errors import ConfigError, DataError
from footreid.core.records import FeatureSet
from footreid.evaluate.distances import EvalSplit


@dataclass(frozen=True)
class QueryExpansion:
    """Parameters of average query expansion.

    Attributes:
        top_k: gallery neighbours averaged into each query (>= 1; clamped per action).
        alpha: neighbour weight exponent (0: plain mean; alpha-QE uses e.g. 3).
        expand_gallery: also expand each gallery feature with its gallery neighbours.
    """

    top_k: int = 3
    alpha: float = 0.0
    expand_gallery: bool = False

    def __post_init__(self) -> None:
        if isinstance(self.top_k, bool) or not isinstance(self.top_k, int) or self.top_k < 1:
            raise ConfigError(f"query expansion top_k must be an integer >= 1, got {self.top_k!r}")
        if not (np.isfinite(self.alpha) and self.alpha >= 0):
            raise ConfigError(f"query expansion alpha must be >= 0, got {self.alpha!r}")


def _unit(x: np.ndarray) -> np.ndarray:
    """Rows scaled to unit L2 norm (zero rows stay zero); float32."""
    x = np.asarray(x, dtype=np.float32)
    return x / np.maximum(np.linalg.norm(x, axis=1, keepdims=True), 1e-12)


def _expand(
    rows: np.ndarray, pool: np.ndarray, k: int, alpha: float, exclude_self: bool
) -> np.ndarray:
    """Each row of ``rows`` (n, D) mixed with its ``k`` most similar rows of ``pool`` (m, D).

    With ``exclude_self`` (rows is pool), a row is never its own neighbour.
    Returns (n, D) float32, L2-normalised.
    """
    sim = rows @ pool.T
    if exclude_self:
        np.fill_diagonal(sim, -np.inf)
    k = min(k, pool.shape[0] - (1 if exclude_self else 0))
    if k <= 0:
        return rows.copy()
    top = np.argsort(-sim, axis=1, kind="stable")[:, :k]  # (n, k) most similar first
    top_sim = np.take_along_axis(sim, top, axis=1)
    weight = np.maximum(top_sim, 0.0) ** alpha if alpha > 0 else np.ones_like(top_sim)
    mixed = rows + np.einsum("nk,nkd->nd", weight.astype(np.float32), pool[top])
    return _unit(mixed / (1.0 + weight.sum(axis=1, keepdims=True)))


def expand_arrays(
    query: np.ndarray, gallery: np.ndarray, split: EvalSplit, params: QueryExpansion
) -> tuple[np.ndarray, np.ndarray]:
    """Average query expansion within each action.

    Args:
        query: (Q, D) features, rows aligned with ``split``'s query arrays.
        gallery: (G, D) features, aligned with the gallery arrays.
        split: the actions of the rows.
        params: top_k, alpha, expand_gallery.

    Returns:
        (Q, D) and (G, D) float32 L2-normalised expanded features (rows of actions
        without queries are only normalised).
    """
    if query.shape[0] != split.num_queries or gallery.shape[0] != split.num_gallery:
        raise DataError(
            None,
            f"features ({query.shape[0]} queries, {gallery.shape[0]} gallery) do not match "
            f"the split ({split.num_queries} queries, {split.num_gallery} gallery)",
        )
    q_in, g_in = _unit(query), _unit(gallery)
    q_out, g_out = q_in.copy(), g_in.copy()
    for _action, q_rows, g_rows in split.action_groups():
        if len(g_rows) == 0:
            continue
        pool = g_in[g_rows]
        if params.expand_gallery:
            pool = _expand(pool, pool, params.top_k, params.alpha, exclude_self=True)
            g_out[g_rows] = pool
        q_out[q_rows] = _expand(q_in[q_rows], pool, params.top_k, params.alpha, False)
    return q_out, g_out


def expand_features(features: FeatureSet, params: QueryExpansion) -> FeatureSet:
    """A copy of ``features`` with query (and optionally gallery) rows expanded per action.

    Distances of the result (e.g. ``feature_distances(out, "cosine")``) are the
    query-expanded distances. ``meta["query_expansion"]`` records the parameters.
    """
    split = EvalSplit.from_features(features)
    q, g = features.role == "query", features.role == "gallery"
    new_q, new_g = expand_arrays(features.features[q], features.features[g], split, params)
    out = features.subset(np.arange(len(features)))
    out.features[q], out.features[g] = new_q, new_g
    out.meta["query_expansion"] = {
        "top_k": params.top_k,
        "alpha": params.alpha,
        "expand_gallery": params.expand_gallery,
    }
    return out
