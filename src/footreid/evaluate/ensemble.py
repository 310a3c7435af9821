"""Ensembles of several models: feature concatenation and (weighted) distance averaging.

Concatenation and averaging are the same thing for unit vectors. With each model's
feature a_i L2-normalised and scaled by sqrt(w_i) (weights summing to 1), the
concatenated vector has unit norm and, for every query/gallery pair,

    ||[sqrt(w_i) a_i]_i - [sqrt(w_i) b_i]_i||^2 = sum_i w_i ||a_i - b_i||^2
    1 - <[sqrt(w_i) a_i]_i, [sqrt(w_i) b_i]_i>  = sum_i w_i (1 - <a_i, b_i>)

so the squared-Euclidean (or cosine) distance of the concatenation *is* the w-weighted
average of the models' squared-Euclidean (or cosine) distances; with equal weights, the
plain average (a plain concatenation without the sqrt(1/M) scaling gives M times it,
which ranks the same). Euclidean distances (square roots) do not average this way.

Choosing the weights on a tuning split is :mod:`footreid.evaluate.weight_search`'s job.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Literal

import numpy as np

from footreid.core.errors import ConfigError, DataError
from footreid.core.records import FeatureSet
from footreid.evaluate.distances import ActionBlock, ActionDistances

Normalise = Literal["none", "mean"]
NORMALISE: tuple[str, ...] = ("none", "mean")


def _weights(weights: Sequence[float] | None, n: int) -> np.ndarray:
    """(n,) float64 non-negative weights summing to 1 (equal when None)."""
    if weights is None:
        return np.full(n, 1.0 / n)
    w = np.asarray(weights, dtype=np.float64)
    if w.shape != (n,) or not np.isfinite(w).all() or (w < 0).any() or w.sum() <= 0:
        raise ConfigError(
            f"ensemble weights {list(weights)} are invalid: expected {n} finite "
            "non-negative numbers with a positive sum, one per model"
        )
    return w / w.sum()


def _aligned_rows(base: FeatureSet, part: FeatureSet, index: int) -> np.ndarray:
    """Rows of ``part`` matching ``base`` row by row on (role, bbox_idx)."""
    orders = []
    for fs, name in ((base, "model 0"), (part, f"model {index}")):
        order = np.lexsort((fs.bbox_idx, fs.role == "query"))
        keys = np.stack([fs.role[order] == "query", fs.bbox_idx[order]])
        if (np.diff(keys, axis=1) == 0).all(axis=0).any():
            raise DataError(None, f"{name}: a (role, bbox_idx) appears twice; re-embed it")
        orders.append((order, keys))
    (b_order, b_keys), (p_order, p_keys) = orders
    if b_keys.shape != p_keys.shape or not np.array_equal(b_keys, p_keys):
        raise DataError(
            None,
            f"model {index} does not hold the same query/gallery crops as model 0 "
            f"({len(part)} vs {len(base)} rows): embed every model on the same split",
        )
    rows = np.empty(len(base), dtype=np.int64)
    rows[b_order] = p_order
    for name in ("action_idx", "person_uid"):
        if not np.array_equal(getattr(part, name)[rows], getattr(base, name)):
            raise DataError(None, f"model {index}: '{name}' disagrees with model 0's for a crop")
    return rows


def _same_meta(feature_sets: Sequence[FeatureSet], key: str) -> object:
    values = {str(fs.meta[key]) for fs in feature_sets if key in fs.meta}
    if len(values) > 1:
        raise DataError(None, f"features come from different '{key}' values {sorted(values)}")
    return feature_sets[0].meta.get(key)


def concat_features(
    feature_sets: Sequence[FeatureSet], weights: Sequence[float] | None = None
) -> FeatureSet:
    """Concatenate several models' features of one split, each part L2-normalised.

    Args:
        feature_sets: M >= 1 features files of the same crops (any row order).
        weights: (M,) non-negative model weights (default equal), normalised to sum 1;
            part i is scaled by sqrt(w_i), so the result has unit norm and its
            squared-Euclidean / cosine distances are the w-weighted averages of the parts'.

    Returns:
        A :class:`FeatureSet` in the row order of ``feature_sets[0]``, features
        (N, sum D_i) float32; ``meta`` keeps the split and dataset root and lists the parts.

    Raises:
        DataError: the files do not hold the same (role, bbox_idx) crops, or disagree on
            a crop's action/person, or come from different splits.
    """
    if not feature_sets:
        raise ConfigError("concat_features needs at least one features file")
    w = _weights(weights, len(feature_sets))
    base = feature_sets[0]
    parts = []
    for i, fs in enumerate(feature_sets):
        rows = np.arange(len(base)) if i == 0 else _aligned_rows(base, fs, i)
        x = fs.features[rows]
        x = x / np.maximum(np.linalg.norm(x, axis=1, keepdims=True), 1e-12)
        parts.append((x * np.float32(np.sqrt(w[i]))).astype(np.float32))
    meta: dict[str, object] = {
        "model": "concat(" + "+".join(str(fs.meta.get("model", "?")) for fs in feature_sets) + ")",
        "weights": [float(v) for v in w],
        "parts": [{k: v for k, v in f.meta.items() if k != "format_version"} for f in feature_sets],
    }
    for key in ("split", "dataset_root"):
        if (value := _same_meta(feature_sets, key)) is not None:
            meta[key] = value
    return FeatureSet(
        features=np.concatenate(parts, axis=1),
        bbox_idx=base.bbox_idx,
        action_idx=base.action_idx,
        person_uid=base.person_uid,
        role=base.role,
        path=base.path,
        clazz=base.clazz,
        meta=meta,
    )


def check_aligned(dists: Sequence[ActionDistances]) -> None:
    """Every model's distances cover the same split, actions and rows, in the same order."""
    if not dists:
        raise ConfigError("an ensemble needs at least one model's distances")
    ref = dists[0]
    names = ("query_bbox_idx", "query_action_idx", "gallery_bbox_idx", "gallery_action_idx")
    for i, d in enumerate(dists[1:], start=1):
        for name in names:
            if not np.array_equal(getattr(d.split, name), getattr(ref.split, name)):
                raise DataError(None, f"model {i}: split '{name}' differs from model 0's")
        if len(d.blocks) != len(ref.blocks):
            raise DataError(None, f"model {i}: {len(d.blocks)} actions, model 0 has {len(ref)}")
        for a, b in zip(ref.blocks, d.blocks, strict=True):
            same = a.action_idx == b.action_idx and a.qg.shape == b.qg.shape
            same = same and np.array_equal(a.query, b.query)
            if not (same and np.array_equal(a.gallery, b.gallery)):
                raise DataError(None, f"model {i}: block of action {b.action_idx} misaligned")


def distance_scales(dists: Sequence[ActionDistances], normalise: str) -> np.ndarray:
    """(M,) divisors: 1 ("none") or each model's mean query-gallery distance ("mean")."""
    if normalise not in NORMALISE:
        raise ConfigError(f"unknown normalise '{normalise}', expected one of {NORMALISE}")
    if normalise == "none":
        return np.ones(len(dists))
    means = np.array([np.concatenate([b.qg.ravel() for b in d]).mean() for d in dists])
    if not (np.isfinite(means).all() and (means > 0).all()):
        raise DataError(None, f"cannot normalise by mean distances {means.tolist()}")
    return means


def combine_distances(
    dists: Sequence[ActionDistances],
    weights: Sequence[float] | None = None,
    normalise: Normalise = "none",
) -> ActionDistances:
    """Weighted average of several models' per-action distances.

    Args:
        dists: M >= 1 :class:`ActionDistances` of the same split, actions and rows.
        weights: (M,) non-negative weights (default equal), normalised to sum 1.
        normalise: ``none``, or ``mean``: divide each model's distances (q-g, q-q, g-g) by
            its mean query-gallery distance over the split first, so models with different
            distance scales (e.g. cosine vs squared Euclidean) weigh as intended.

    Returns:
        :class:`ActionDistances` with float32 blocks ``sum_i w_i d_i / s_i``; q-q and g-g
        blocks are combined too when every model has them (re-ranking needs them).
    """
    check_aligned(dists)
    w = _weights(weights, len(dists)) / distance_scales(dists, normalise)
    within = all(d.has_within for d in dists)
    blocks = []
    for parts in zip(*(d.blocks for d in dists), strict=True):
        first = parts[0]
        qq, gg = (_mix(parts, "qq", w), _mix(parts, "gg", w)) if within else (None, None)
        qg = _mix(parts, "qg", w)
        blocks.append(ActionBlock(first.action_idx, first.query, first.gallery, qg, qq, gg))
    metrics = sorted({d.metric for d in dists})
    meta = _merged_meta(dists)
    meta.update(weights=[float(v) for v in _weights(weights, len(dists))], normalise=normalise)
    return ActionDistances(dists[0].split, blocks, "+".join(metrics), meta)


def _mix(parts: Sequence[ActionBlock], name: str, w: np.ndarray) -> np.ndarray:
    """sum_i w_i * parts[i].<name>, accumulated in float64, returned as float32."""
    total = sum(
        float(wi) * getattr(p, name).astype(np.float64) for wi, p in zip(w, parts, strict=True)
    )
    return np.asarray(total, dtype=np.float32)


def _merged_meta(dists: Sequence[ActionDistances]) -> dict[str, object]:
    sources: list[object] = []
    for d in dists:
        sources.extend(d.meta.get("sources", ["?"]))  # type: ignore[arg-type]
    meta: dict[str, object] = {"sources": sources}
    for key in ("split", "dataset_root"):
        values = {str(d.meta[key]) for d in dists if key in d.meta}
        if len(values) == 1:
            meta[key] = values.pop()
    return meta
