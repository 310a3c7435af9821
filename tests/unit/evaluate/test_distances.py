"""Per-action distances: values against scipy's cdist, grouping, shapes and errors."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays
from scipy.spatial.distance import cdist

from footreid.core.errors import DataError
from footreid.core.records import FeatureSet
from footreid.evaluate.distances import (
    METRICS,
    EvalSplit,
    action_distances,
    feature_distances,
    pairwise_distance,
)

finite = st.floats(-4, 4, allow_nan=False, width=32)


@settings(max_examples=60, deadline=None)
@given(
    x=arrays(np.float32, st.tuples(st.integers(1, 5), st.just(6)), elements=finite),
    y=arrays(np.float32, st.tuples(st.integers(1, 7), st.just(6)), elements=finite),
    metric=st.sampled_from(METRICS),
)
def test_pairwise_distance_matches_cdist(x: np.ndarray, y: np.ndarray, metric: str) -> None:
    got = pairwise_distance(x, y, metric)
    assert got.dtype == np.float32 and got.shape == (len(x), len(y))
    x64, y64 = x.astype(np.float64), y.astype(np.float64)
    if metric == "cosine":
        nonzero = (np.linalg.norm(x64, axis=1) > 1e-3)[:, None] & (
            np.linalg.norm(y64, axis=1) > 1e-3
        )[None, :]
        with np.errstate(invalid="ignore", divide="ignore"):
            ref = cdist(x64, y64, "cosine")  # NaN next to a zero vector: not compared
        np.testing.assert_allclose(got[nonzero], ref[nonzero], atol=1e-5)
        return
    # the expansion |x|^2 + |y|^2 - 2 x.y loses ~float32 eps of the squared norms
    scale = (x64 * x64).sum(1)[:, None] + (y64 * y64).sum(1)[None, :]
    sq_ref = cdist(x64, y64, "sqeuclidean")
    sq_got = got.astype(np.float64) ** 2 if metric == "euclidean" else got.astype(np.float64)
    assert (np.abs(sq_got - sq_ref) <= 1e-6 * scale + 1e-6).all()
    if metric == "euclidean":
        far = sq_ref > 1.0
        np.testing.assert_allclose(got[far], cdist(x64, y64)[far], rtol=1e-5)


def test_pairwise_distance_edge_cases() -> None:
    x = np.array([[0.0, 0.0], [3.0, 4.0]], np.float32)
    assert pairwise_distance(x, x, "euclidean")[1, 0] == pytest.approx(5.0)
    assert pairwise_distance(x, x, "sqeuclidean")[0, 1] == pytest.approx(25.0)
    assert pairwise_distance(x, x, "cosine")[0, 1] == pytest.approx(1.0)  # zero vector
    assert pairwise_distance(x, x[:0], "cosine").shape == (2, 0)
    with pytest.raises(ValueError, match="unknown metric"):
        pairwise_distance(x, x, "manhattan")  # type: ignore[arg-type]


def _split(q_action: list[int], g_action: list[int]) -> EvalSplit:
    return EvalSplit(
        query_bbox_idx=np.arange(len(q_action)),
        query_action_idx=np.asarray(q_action),
        query_person_uid=np.asarray(["p"] * len(q_action)),
        gallery_bbox_idx=np.arange(100, 100 + len(g_action)),
        gallery_action_idx=np.asarray(g_action),
        gallery_person_uid=np.asarray(["p"] * len(g_action)),
    )


def test_action_groups_cover_every_query_once_in_original_order() -> None:
    split = _split([7, 3, 7, 9, 3], [3, 7, 3, 5, 7, 7])
    groups = list(split.action_groups())
    assert [a for a, _, _ in groups] == [3, 7, 9]
    assert [q.tolist() for _, q, _ in groups] == [[1, 4], [0, 2], [3]]
    assert [g.tolist() for _, _, g in groups] == [[0, 2], [1, 4, 5], []]
    assert list(_split([], [1, 2]).action_groups()) == []


@pytest.mark.parametrize("metric", METRICS)
def test_action_distances_blocks_equal_cdist_of_the_action(metric: str) -> None:
    rng = np.random.default_rng(0)
    split = _split([1, 2, 1, 2, 2], [2, 1, 1, 2, 3])
    q = rng.normal(size=(5, 8)).astype(np.float32)
    g = rng.normal(size=(5, 8)).astype(np.float32)
    dist = action_distances(q, g, split, metric, within=True)
    scipy_name = {"euclidean": "euclidean", "sqeuclidean": "sqeuclidean", "cosine": "cosine"}
    assert [b.action_idx for b in dist] == [1, 2] and dist.has_within and len(dist) == 2
    for block in dist:
        assert (split.query_action_idx[block.query] == block.action_idx).all()
        assert (split.gallery_action_idx[block.gallery] == block.action_idx).all()
        ref = cdist(q[block.query], g[block.gallery], scipy_name[metric])
        np.testing.assert_allclose(block.qg, ref, rtol=1e-4, atol=1e-4)
        assert block.qq is not None and block.qq.shape == (len(block.query),) * 2
        assert block.gg is not None and block.gg.shape == (len(block.gallery),) * 2
    assert not action_distances(q, g, split, metric).has_within


def test_action_distances_rejects_misaligned_features() -> None:
    split = _split([1, 1], [1])
    with pytest.raises(DataError, match="do not match the split"):
        action_distances(np.zeros((3, 4), np.float32), np.zeros((1, 4), np.float32), split)


def test_feature_distances_reads_roles() -> None:
    rng = np.random.default_rng(1)
    role = np.array(["query", "gallery", "gallery", "query", "gallery"])
    fs = FeatureSet(
        features=rng.normal(size=(5, 4)),
        bbox_idx=np.arange(5),
        action_idx=np.array([0, 0, 1, 1, 1]),
        person_uid=np.array(["a", "a", "b", "b", "c"]),
        role=role,
        path=np.array([f"{i}.png" for i in range(5)]),
        clazz=np.array([""] * 5),
        meta={"model": "m"},
    )
    dist = feature_distances(fs, "euclidean")
    assert dist.split.query_bbox_idx.tolist() == [0, 3]
    assert dist.split.gallery_bbox_idx.tolist() == [1, 2, 4]
    assert dist.meta["sources"] == ["m"] and dist.metric == "euclidean"
    ref = cdist(fs.features[[3]], fs.features[[2, 4]])
    np.testing.assert_allclose(dist.blocks[1].qg, ref, rtol=1e-5)
