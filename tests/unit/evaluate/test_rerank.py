"""Per-action k-reciprocal re-ranking: equality with a loop reference and with torchreid."""

from __future__ import annotations

import numpy as np
import pytest

from footreid.core.errors import ConfigError
from footreid.evaluate.distances import ActionDistances, EvalSplit, action_distances
from footreid.evaluate.rerank import RERANK_PRESETS, RerankParams, parse_rerank, rerank

PRESETS = sorted(RERANK_PRESETS)


def reference_rerank(
    qg: np.ndarray, qq: np.ndarray, gg: np.ndarray, k1: int, k2: int, lam: float
) -> np.ndarray:
    """The published algorithm for one action, written as plainly as possible."""
    q, g = qg.shape
    n = q + g
    full = np.zeros((n, n), np.float32)
    full[:q, :q], full[:q, q:], full[q:, :q], full[q:, q:] = qq, qg, qg.T, gg
    full = np.square(full)
    d = (full / full.max(axis=0)).T  # published: each column by its max, then transpose
    ranks = [sorted(range(n), key=lambda j, i=i: (d[i, j], j)) for i in range(n)]

    def mutual(i: int, k: int) -> list[int]:
        return [j for j in ranks[i][:k] if i in ranks[j][:k]]

    half = int(np.around(k1 / 2.0)) + 1
    v = np.zeros((n, n), np.float32)
    for i in range(n):
        r = mutual(i, k1 + 1)
        expanded = set(r)
        for c in r:
            rc = mutual(c, half)
            if len(set(rc) & set(r)) > 2.0 / 3.0 * len(rc):
                expanded.update(rc)
        cols = sorted(expanded)
        w = np.exp(-d[i, cols])
        v[i, cols] = w / w.sum()
    if k2 != 1:
        v = np.stack([v[ranks[i][:k2]].mean(axis=0) for i in range(n)])
    out = np.zeros((q, g), np.float32)
    for a in range(q):
        for b in range(g):
            low = np.minimum(v[a], v[q + b]).sum()
            high = np.maximum(v[a], v[q + b]).sum()
            out[a, b] = (1 - lam) * (1 - low / high) + lam * d[a, q + b]
    return out


def make_dist(
    sizes: list[tuple[int, int]], seed: int, metric: str = "euclidean", dim: int = 8
) -> ActionDistances:
    """Random features in actions of the given (queries, gallery) sizes, within=True."""
    rng = np.random.default_rng(seed)
    q_act = np.concatenate([np.full(q, a) for a, (q, _) in enumerate(sizes)])
    g_act = np.concatenate([np.full(g, a) for a, (_, g) in enumerate(sizes)])
    q_perm, g_perm = rng.permutation(len(q_act)), rng.permutation(len(g_act))
    q_act, g_act = q_act[q_perm].astype(np.int64), g_act[g_perm].astype(np.int64)
    split = EvalSplit(
        query_bbox_idx=np.arange(len(q_act), dtype=np.int64),
        query_action_idx=q_act,
        query_person_uid=np.array(["p"] * len(q_act)),
        gallery_bbox_idx=np.arange(len(g_act), dtype=np.int64) + 10_000,
        gallery_action_idx=g_act,
        gallery_person_uid=np.array(["p"] * len(g_act)),
    )
    qf = rng.standard_normal((len(q_act), dim)).astype(np.float32)
    gf = rng.standard_normal((len(g_act), dim)).astype(np.float32)
    return action_distances(qf, gf, split, metric, within=True)  # type: ignore[arg-type]


SIZES = [(1, 1), (1, 3), (3, 1), (2, 5), (4, 9), (6, 20), (7, 15), (13, 30), (9, 2)]


@pytest.mark.parametrize("preset", PRESETS)
def test_rerank_equals_reference_on_many_sizes(preset: str) -> None:
    p = RERANK_PRESETS[preset]
    dist = make_dist(SIZES + [(40, 120)], seed=PRESETS.index(preset))
    got = rerank(dist, p)
    assert len(got) == len(dist)
    for before, after in zip(dist, got, strict=True):
        assert after.action_idx == before.action_idx
        assert np.array_equal(after.query, before.query)
        assert np.array_equal(after.gallery, before.gallery)
        assert after.qg.dtype == np.float32 and after.qg.shape == before.qg.shape
        assert after.qq is None and after.gg is None
        ref = reference_rerank(before.qg, before.qq, before.gg, p.k1, p.k2, p.lambda_)
        np.testing.assert_allclose(after.qg, ref, atol=1e-5, rtol=0)
    assert got.meta["rerank"] == p.label


@pytest.mark.parametrize(
    ("params", "metric"),
    [
        (RerankParams(5, 1, 0.0), "cosine"),
        (RerankParams(7, 4, 0.2), "sqeuclidean"),
        (RerankParams(9, 2, 1.0), "euclidean"),
    ],
)
def test_rerank_custom_params_and_metrics(params: RerankParams, metric: str) -> None:
    # odd k1: round(7/2) = 4, round(5/2) = 2, round(9/2) = 4 (half to even, numpy.around)
    dist = make_dist([(3, 4), (5, 11), (2, 30), (1, 6)], seed=7, metric=metric)
    for before, after in zip(dist, rerank(dist, params), strict=True):
        ref = reference_rerank(
            before.qg, before.qq, before.gg, params.k1, params.k2, params.lambda_
        )
        np.testing.assert_allclose(after.qg, ref, atol=1e-5, rtol=0)


def test_rerank_uses_the_published_column_normalisation() -> None:
    # asymmetric within-blocks tell "column max then transpose" from "row max"
    dist = make_dist([(4, 9), (6, 20)], seed=5)
    rng = np.random.default_rng(0)
    for b in dist:
        b.qq = (b.qq * rng.uniform(0.5, 1.5, b.qq.shape)).astype(np.float32)
        b.gg = (b.gg * rng.uniform(0.5, 1.5, b.gg.shape)).astype(np.float32)
    p = RERANK_PRESETS["aggressive"]
    for before, after in zip(dist, rerank(dist, p), strict=True):
        ref = reference_rerank(before.qg, before.qq, before.gg, p.k1, p.k2, p.lambda_)
        np.testing.assert_allclose(after.qg, ref, atol=1e-5, rtol=0)


def test_rerank_chunking_does_not_change_results() -> None:
    dist = make_dist([(q, g) for q in (1, 4, 9) for g in (2, 12, 25)], seed=3)
    p = RERANK_PRESETS["standard"]
    one = rerank(dist, p)
    many = rerank(dist, p, max_chunk_elements=500)
    for a, b in zip(one, many, strict=True):
        np.testing.assert_allclose(a.qg, b.qg, atol=1e-6, rtol=0)


def test_rerank_edge_cases_stay_finite() -> None:
    dist = make_dist([(2, 0), (3, 4)], seed=1)
    out = rerank(dist, RERANK_PRESETS["standard"])
    assert out.blocks[0].qg.shape == (2, 0)
    # identical features: all distances zero; the published code would divide 0 by 0
    zero = make_dist([(2, 3)], seed=2)
    b = zero.blocks[0]
    b.qg, b.qq, b.gg = (np.zeros_like(x) for x in (b.qg, b.qq, b.gg))
    assert np.isfinite(rerank(zero, RERANK_PRESETS["aggressive"]).blocks[0].qg).all()


def test_rerank_needs_within_blocks() -> None:
    dist = make_dist([(2, 3)], seed=0)
    dist.blocks[0].gg = None
    with pytest.raises(ConfigError, match="within=True"):
        rerank(dist, RERANK_PRESETS["standard"])


def test_parse_rerank() -> None:
    assert parse_rerank("standard") == RerankParams(20, 6, 0.3)
    assert parse_rerank(" Broad ") == RerankParams(60, 10, 0.3)
    assert parse_rerank("lambda05").lambda_ == 0.5
    assert parse_rerank("aggressive") == RerankParams(10, 3, 0.3)
    assert parse_rerank("15, 4, 0.25") == RerankParams(15, 4, 0.25)
    for bad in ("fancy", "20,6", "20,x,0.3", "0,6,0.3", "20,0,0.3", "20,6,1.5", "2.5,6,0.3"):
        with pytest.raises(ConfigError, match="re-ranking spec"):
            parse_rerank(bad)


@pytest.mark.parametrize("preset", PRESETS)
def test_rerank_agrees_with_torchreid_per_action(preset: str) -> None:
    torchreid_rerank = pytest.importorskip("torchreid.reid.utils.rerank", exc_type=ImportError)
    p = RERANK_PRESETS[preset]
    sizes = [(q, g) for q, g in [(6, 20), (13, 30), (40, 120), (8, 60)] if q + g >= p.k1 + 1]
    dist = make_dist(sizes, seed=11 + PRESETS.index(preset))
    for before, after in zip(dist, rerank(dist, p), strict=True):
        ref = torchreid_rerank.re_ranking(
            before.qg, before.qq, before.gg, k1=p.k1, k2=p.k2, lambda_value=p.lambda_
        )
        np.testing.assert_allclose(after.qg, ref, atol=1e-5, rtol=0)
