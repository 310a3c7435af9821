"""k-reciprocal re-ranking (Zhong et al., CVPR 2017), run per action and batched.

The published algorithm (the authors' ``re_ranking``, which torchreid ships as
``torchreid.reid.utils.rerank.re_ranking``; summary in ``docs/protocol.md``) works on the
q-q, q-g and g-g distances of ONE action here, never on the whole split: the protocol
compares a query with its own action only, and the whole-split matrix of valid would
need tens of GB.

Steps, for one action of N = Q + G items:

1. Stack ``[[qq, qg], [qg.T, gg]]`` into (N, N), square every entry (float32), then
   normalise exactly as the published code does: ``transpose(d / d.max(axis=0))``, i.e.
   each *column* is divided by its own maximum and the result is transposed. For a
   symmetric matrix this is "each row divided by its own maximum"; we keep the published
   expression so that slightly asymmetric inputs give the published numbers too. -> d'.
2. Rank each row of d' ascending (ties: lower index first).
3. R(i): the first k1 + 1 neighbours j of i that also have i in their first k1 + 1.
4. For each j in R(i), R_half(j) is built the same way with round(k1 / 2) + 1 (round half
   to even, as ``numpy.around``); when more than 2/3 of R_half(j) lies in R(i) it is
   added to R(i) (a set, so duplicates disappear).
5. V[i, j] = exp(-d'(i, j)) on that expanded set, normalised to sum 1.
6. If k2 != 1: V[i] <- mean of V over the first k2 neighbours of i (local query expansion).
7. Jaccard distance d_J(q, g) = 1 - sum(min(V_q, V_g)) / sum(max(V_q, V_g)).
8. Result = (1 - lambda) d_J + lambda d', query rows x gallery columns.

When an action has fewer than k1 + 1 (or round(k1/2) + 1, or k2) items, every k is
clamped to the action's size, which is what slicing does in the published code.

Vectorisation: actions are sorted by size and cut into chunks of similar size; each chunk
is padded to its largest query and gallery counts (padded entries sort last and carry no
weight) and processed with batched numpy operations, so there is no Python loop over
items or actions inside a chunk. Pure numpy: no torch import, small peak memory; a
valid-sized split (1,751 actions) takes about 0.1 s on one CPU thread
(``benchmarks/bench_rerank.py``), so there is no GPU path.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from numbers import Integral

import numpy as np

from footreid.core.errors import ConfigError, DataError
from footreid.core.log import get_logger
from footreid.evaluate.distances import ActionBlock, ActionDistances

log = get_logger(__name__)


@dataclass(frozen=True)
class RerankParams:
    """Parameters of k-reciprocal re-ranking.

    Attributes:
        k1: size of the k-reciprocal neighbourhood (>= 1).
        k2: neighbours averaged by the local query expansion (>= 1; 1 disables it).
        lambda_: weight of the original distance in the final mix, in [0, 1].
    """

    k1: int
    k2: int
    lambda_: float

    def __post_init__(self) -> None:
        for name in ("k1", "k2"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, Integral) or value < 1:
                raise ConfigError(f"re-ranking {name} must be an integer >= 1, got {value!r}")
            object.__setattr__(self, name, int(value))
        lam = float(self.lambda_)
        if not (math.isfinite(lam) and 0.0 <= lam <= 1.0):
            raise ConfigError(f"re-ranking lambda must be in [0, 1], got {self.lambda_!r}")

    @property
    def label(self) -> str:
        """Short text form, e.g. ``k1=20,k2=6,lambda=0.3``."""
        return f"k1={self.k1},k2={self.k2},lambda={self.lambda_:g}"


RERANK_PRESETS: dict[str, RerankParams] = {
    "standard": RerankParams(20, 6, 0.3),
    "aggressive": RerankParams(10, 3, 0.3),
    "broad": RerankParams(60, 10, 0.3),
    "lambda05": RerankParams(20, 6, 0.5),
}
"""The presets of the reference system (``docs/protocol.md``): k1, k2, lambda."""


def parse_rerank(spec: str) -> RerankParams:
    """Parse a preset name (see :data:`RERANK_PRESETS`) or ``"k1,k2,lambda"`` (``"20,6,0.3"``).

    Raises:
        ConfigError: naming the value, the presets and the expected format.
    """
    text = str(spec).strip().lower()
    if text in RERANK_PRESETS:
        return RERANK_PRESETS[text]
    hint = (
        f"expected a preset ({', '.join(RERANK_PRESETS)}) or 'k1,k2,lambda' "
        "with integers k1 >= 1, k2 >= 1 and 0 <= lambda <= 1, e.g. '20,6,0.3'"
    )
    parts = [p.strip() for p in text.split(",")]
    if len(parts) != 3:
        raise ConfigError(f"invalid re-ranking spec '{spec}': {hint}")
    try:
        k1, k2, lam = int(parts[0]), int(parts[1]), float(parts[2])
    except ValueError:
        raise ConfigError(f"invalid re-ranking spec '{spec}': {hint}") from None
    try:
        return RerankParams(k1, k2, lam)
    except ConfigError as exc:
        raise ConfigError(f"invalid re-ranking spec '{spec}': {exc}") from None


def rerank(
    dist: ActionDistances, params: RerankParams, max_chunk_elements: int = 4_000_000
) -> ActionDistances:
    """Re-rank every action's query-gallery distances with k-reciprocal encoding.

    Args:
        dist: per-action distances computed with ``within=True`` (q-q and g-g blocks).
        params: k1, k2, lambda (see :data:`RERANK_PRESETS`, :func:`parse_rerank`).
        max_chunk_elements: bound on B x N x N per batched chunk (memory knob: about
            40 bytes per element are alive at once).

    Returns:
        New :class:`ActionDistances` with the same split, actions and rows; each block's
        ``qg`` is the (Q, G) float32 re-ranked distance (lower is closer), ``qq``/``gg``
        are None. ``metric`` is kept (the distances re-ranked); ``meta["rerank"]``
        records the parameters.

    Raises:
        ConfigError: when the q-q / g-g blocks are missing.
        DataError: when a block has inconsistent shapes or non-finite distances.
    """
    if not dist.has_within:
        raise ConfigError(
            "re-ranking needs each action's query-query and gallery-gallery distances: "
            "compute the distances with within=True (action_distances(..., within=True) "
            "or feature_distances(..., within=True))"
        )
    for block in dist.blocks:
        _check_block(block)
    out: list[np.ndarray | None] = [None] * len(dist.blocks)
    for chunk in _chunks(dist.blocks, max_chunk_elements):
        results = _rerank_chunk([dist.blocks[i] for i in chunk], params, max_chunk_elements)
        for i, qg in zip(chunk, results, strict=True):
            out[i] = qg
    blocks = [
        ActionBlock(b.action_idx, b.query, b.gallery, qg)
        for b, qg in zip(dist.blocks, out, strict=True)
    ]
    meta = {**dist.meta, "rerank": params.label}
    log.debug("re-ranked %d actions with %s", len(blocks), params.label)
    return ActionDistances(split=dist.split, blocks=blocks, metric=dist.metric, meta=meta)


def _check_block(block: ActionBlock) -> None:
    q, g = block.qg.shape
    assert block.qq is not None and block.gg is not None
    if block.qq.shape != (q, q) or block.gg.shape != (g, g):
        raise DataError(
            None,
            f"action {block.action_idx}: qg {block.qg.shape}, qq {block.qq.shape} and gg "
            f"{block.gg.shape} do not fit together; recompute the distances",
        )
    for name in ("qg", "qq", "gg"):
        if not np.isfinite(getattr(block, name)).all():
            raise DataError(
                None, f"action {block.action_idx}: '{name}' holds NaN or infinite distances"
            )


def _chunks(blocks: list[ActionBlock], max_elements: int) -> list[list[int]]:
    """Group block positions by size so that padding wastes little and memory is bounded."""
    sizes = [b.qg.shape for b in blocks]
    order = sorted(range(len(blocks)), key=lambda i: (sizes[i][0] + sizes[i][1], i))
    chunks: list[list[int]] = []
    current: list[int] = []
    qp = gp = 0
    for i in order:
        q, g = sizes[i]
        nq, ng = max(qp, q), max(gp, g)
        n = nq + ng
        first = sizes[current[0]] if current else (q, g)
        too_big = (len(current) + 1) * n * n > max_elements
        too_uneven = n > 1.25 * (first[0] + first[1]) + 4
        if current and (too_big or too_uneven):
            chunks.append(current)
            current, nq, ng = [], q, g
        current.append(i)
        qp, gp = nq, ng
    if current:
        chunks.append(current)
    return chunks


def _stack(blocks: list[ActionBlock]) -> tuple[np.ndarray, np.ndarray, int]:
    """Pad the actions into (B, Np, Np) squared distances; queries first, then gallery.

    Returns:
        squared: (B, Np, Np) float32 squared distances (0 on padding).
        valid: (B, Np) bool, True on real items.
        qp: padded query count (gallery items start at column ``qp``).
    """
    qp = max(b.qg.shape[0] for b in blocks)
    gp = max(b.qg.shape[1] for b in blocks)
    n = qp + gp
    squared = np.zeros((len(blocks), n, n), dtype=np.float32)
    valid = np.zeros((len(blocks), n), dtype=bool)
    for k, b in enumerate(blocks):
        q, g = b.qg.shape
        qg = b.qg.astype(np.float32)
        squared[k, :q, :q] = b.qq
        squared[k, :q, qp : qp + g] = qg
        squared[k, qp : qp + g, :q] = qg.T
        squared[k, qp : qp + g, qp : qp + g] = b.gg
        valid[k, :q] = True
        valid[k, qp : qp + g] = True
    np.square(squared, out=squared)
    return squared, valid, qp


_PAD = np.float32(2.0)
"""Normalised distances lie in [0, 1], so padding at 2 sorts after every real item."""


def _normalise(squared: np.ndarray, valid: np.ndarray) -> np.ndarray:
    """The published ``transpose(d / max(d, axis=0))`` per action; ``_PAD`` on padding."""
    col_max = squared.max(axis=1, keepdims=True)  # padding holds 0 <= every squared entry
    col_max[col_max == 0] = 1.0  # degenerate all-zero column: keep zeros instead of NaN
    normed = np.ascontiguousarray((squared / col_max).transpose(0, 2, 1))
    pair_valid = valid[:, :, None] & valid[:, None, :]
    normed[~pair_valid] = _PAD
    return normed


def _reciprocal(rank: np.ndarray, valid: np.ndarray, k: int) -> np.ndarray:
    """(B, N, N) bool: j is among i's first k neighbours and i among j's (clamped to N)."""
    top = rank[:, :, : min(k, rank.shape[2])]
    near = np.zeros(rank.shape, dtype=bool)
    np.put_along_axis(near, top, True, axis=2)
    near &= valid[:, None, :] & valid[:, :, None]
    return near & near.transpose(0, 2, 1)


def _weights(
    normed: np.ndarray, valid: np.ndarray, rank: np.ndarray, p: RerankParams
) -> np.ndarray:
    """The V matrix (steps 3-6): (B, N, N) float32 rows summing to 1 on real items."""
    recip = _reciprocal(rank, valid, p.k1 + 1)
    half = _reciprocal(rank, valid, int(np.around(p.k1 / 2.0)) + 1)
    recip_f, half_f = recip.astype(np.float32), half.astype(np.float32)
    # overlap[i, j] = |R(i) & R_half(j)| (exact small integers in float32)
    overlap = recip_f @ half_f.transpose(0, 2, 1)
    half_size = half.sum(axis=2, dtype=np.int64)[:, None, :]
    accept = recip & (overlap > 2.0 / 3.0 * half_size)  # the published float comparison
    expanded = recip | ((accept.astype(np.float32) @ half_f) > 0)
    weight = np.where(expanded, np.exp(-normed), np.float32(0.0)).astype(np.float32)
    total = weight.sum(axis=2, keepdims=True)
    v = weight / np.where(total > 0, total, np.float32(1.0))
    if p.k2 != 1:
        top = rank[:, :, : min(p.k2, rank.shape[2])]
        take = np.take_along_axis(np.broadcast_to(valid[:, None, :], rank.shape), top, axis=2)
        count = take.sum(axis=2, keepdims=True).astype(np.float32)
        mix = np.zeros(rank.shape, dtype=np.float32)
        np.put_along_axis(mix, top, take / np.maximum(count, 1.0), axis=2)
        v = mix @ v
    return v


def _jaccard(v: np.ndarray, qp: int, max_elements: int) -> np.ndarray:
    """(B, Qp, Gp) float32 1 - sum(min) / sum(max) between query and gallery rows of V."""
    vq, vg = v[:, :qp, :], v[:, qp:, :]
    b, gp, n = vg.shape
    out = np.empty((b, qp, gp), dtype=np.float32)
    step = max(1, max_elements // max(1, b * gp * n))
    sum_g = vg.sum(axis=2)[:, None, :]
    for start in range(0, qp, step):
        part = vq[:, start : start + step, None, :]
        min_sum = np.minimum(part, vg[:, None, :, :]).sum(axis=3)
        max_sum = part.sum(axis=3) + sum_g - min_sum  # min + max = a + b, entry by entry
        ratio = min_sum / np.where(max_sum > 0, max_sum, np.float32(1.0))
        out[:, start : start + step] = 1.0 - ratio
    return out


def _rerank_chunk(
    blocks: list[ActionBlock], params: RerankParams, max_elements: int
) -> list[np.ndarray]:
    """Re-rank a chunk of actions of similar size; returns each action's (Q, G) float32."""
    if all(b.qg.shape[1] == 0 for b in blocks):
        return [np.zeros(b.qg.shape, dtype=np.float32) for b in blocks]
    squared, valid, qp = _stack(blocks)
    normed = _normalise(squared, valid)
    del squared
    rank = np.argsort(normed, axis=2, kind="stable")
    v = _weights(normed, valid, rank, params)
    del rank
    jaccard = _jaccard(v, qp, max_elements)
    lam = np.float32(params.lambda_)
    final = (np.float32(1.0) - lam) * jaccard + lam * normed[:, :qp, qp:]
    return [
        np.ascontiguousarray(final[k, : b.qg.shape[0], : b.qg.shape[1]], dtype=np.float32)
        for k, b in enumerate(blocks)
    ]
