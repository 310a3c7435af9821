"""Methods: spec round trip, ensembles equalities, re-ranking/QE wiring, per-query tables."""

from __future__ import annotations

import csv

import numpy as np
import pytest

from footreid.core.errors import ConfigError, DataError
from footreid.core.records import FeatureSet
from footreid.evaluate.distances import feature_distances
from footreid.evaluate.evaluation import check_reported_split, tune_weights
from footreid.evaluate.methods import (
    MethodSpec,
    compute_method,
    evaluate_method,
)
from footreid.evaluate.metrics import evaluate_distances
from footreid.evaluate.per_query import (
    PER_QUERY_COLUMNS,
    class_breakdown,
    class_group,
    per_query_rows,
    write_per_query_csv,
)
from footreid.evaluate.query_expansion import QueryExpansion, expand_features
from footreid.evaluate.rerank import RERANK_PRESETS, rerank

CLASSES = ("Player_team_left", "Goalkeeper_team_right", "Main_referee", "Player_team_right")


def make_features(
    seed: int, noise: float, split: str = "valid", dim: int = 16, actions: int = 6
) -> FeatureSet:
    """Actions of 4 persons: 1 query + 3 gallery crops each, around one centre per person."""
    rng = np.random.default_rng(seed)
    centres = np.random.default_rng(1234).normal(size=(actions, 4, dim))
    rows = []
    for a in range(actions):
        for p in range(4):
            for k in range(4):
                role = "query" if k == 0 else "gallery"
                rows.append((role, a, p, CLASSES[p]))
    feats = np.stack([centres[a, p] + noise * rng.normal(size=dim) for _, a, p, _ in rows])
    roles = np.array([r[0] for r in rows])
    bbox = np.zeros(len(rows), dtype=np.int64)
    for role in ("query", "gallery"):
        bbox[roles == role] = np.arange((roles == role).sum())
    return FeatureSet(
        features=feats / np.linalg.norm(feats, axis=1, keepdims=True),
        bbox_idx=bbox,
        action_idx=[r[1] for r in rows],
        person_uid=[f"{r[1]}_{r[2]}" for r in rows],
        role=roles,
        path=[f"{i}.png" for i in range(len(rows))],
        clazz=[r[3] for r in rows],
        meta={"model": f"m{seed}", "split": split, "dataset_root": "/data"},
    )


@pytest.fixture(scope="module")
def features() -> dict[str, FeatureSet]:
    return {"a": make_features(0, 0.9), "b": make_features(1, 1.1), "c": make_features(2, 0.7)}


def blocks_close(d1, d2, atol=1e-5) -> None:
    assert len(d1.blocks) == len(d2.blocks)
    for x, y in zip(d1.blocks, d2.blocks, strict=True):
        np.testing.assert_array_equal(x.query, y.query)
        np.testing.assert_array_equal(x.gallery, y.gallery)
        np.testing.assert_allclose(x.qg, y.qg, atol=atol)


def test_spec_round_trip_and_strict_keys() -> None:
    spec = MethodSpec(
        name="w",
        kind="average",
        members=["a", "b"],
        weights=[0.2, 0.8],
        metric="cosine",
        steps={"rerank": "standard", "query_expansion": 3},
    )
    assert MethodSpec.from_dict(spec.to_dict()) == spec
    with pytest.raises(ConfigError, match="unknown key"):
        MethodSpec.from_dict({**spec.to_dict(), "extra": 1})
    with pytest.raises(ConfigError, match="missing"):
        MethodSpec.from_dict({"name": "x", "kind": "single"})


@pytest.mark.parametrize(
    "kwargs",
    [
        {"kind": "single", "members": ["a", "b"]},
        {"kind": "concat", "members": ["a", "b"], "weights": [1, 1]},
        {"kind": "average", "members": ["a", "b"], "weights": [1.0]},
        {"kind": "vote", "members": ["a"]},
        {"kind": "single", "members": ["a"], "steps": {"rerank": "20,6"}},
        {"kind": "single", "members": ["a"], "metric": "manhattan"},
        {"kind": "single", "members": ["a"], "steps": {"query_expansion": 0}},
        {"kind": "single", "members": ["a"], "steps": {"reranking": "standard"}},
    ],
)
def test_spec_rejects_invalid(kwargs) -> None:
    with pytest.raises(ConfigError):
        MethodSpec(name="bad", **kwargs)


def test_single_equals_feature_distances(features) -> None:
    dist = compute_method(MethodSpec(name="a", kind="single", members=["a"]), features)
    blocks_close(dist, feature_distances(features["a"], "cosine"))
    assert dist.meta["method"]["kind"] == "single"
    assert dist.meta["split"] == "valid"


def test_concat_equals_equal_weight_average(features) -> None:
    """Concatenated unit vectors = equal-weight average of cosine distances."""
    concat = compute_method(MethodSpec(name="c", kind="concat", members=["a", "b", "c"]), features)
    avg = compute_method(MethodSpec(name="e", kind="average", members=["a", "b", "c"]), features)
    blocks_close(concat, avg)
    sq = compute_method(
        MethodSpec(name="c", kind="concat", members=["a", "b"], metric="sqeuclidean"), features
    )
    sq_avg = compute_method(
        MethodSpec(name="e", kind="average", members=["a", "b"], metric="sqeuclidean"), features
    )
    blocks_close(sq, sq_avg)


def test_weights_select_and_rows_are_matched_by_bbox(features) -> None:
    shuffled = dict(features)
    perm = np.random.default_rng(5).permutation(len(features["b"]))
    shuffled["b"] = features["b"].subset(perm)
    only_b = compute_method(
        MethodSpec(name="w", kind="average", members=["a", "b"], weights=[0.0, 1.0]), shuffled
    )
    blocks_close(
        only_b, compute_method(MethodSpec(name="b", kind="single", members=["b"]), features)
    )


def test_mismatched_crops_and_missing_member_raise(features) -> None:
    with pytest.raises(DataError, match="available"):
        compute_method(MethodSpec(name="x", kind="single", members=["zz"]), features)
    partial = {**features, "b": features["b"].subset(np.arange(len(features["b"]) - 1))}
    with pytest.raises(DataError, match="different crops"):
        compute_method(MethodSpec(name="x", kind="average", members=["a", "b"]), partial)


def test_rerank_and_query_expansion_are_applied(features) -> None:
    spec = MethodSpec(
        name="r",
        kind="average",
        members=["a", "b"],
        weights=[0.3, 0.7],
        steps={"rerank": "lambda05"},
    )
    got = compute_method(spec, features)
    base = compute_method(
        MethodSpec(name="w", kind="average", members=["a", "b"], weights=[0.3, 0.7]), features
    )
    assert not np.allclose(got.blocks[0].qg, base.blocks[0].qg)
    from footreid.evaluate.ensemble import combine_distances

    within = [feature_distances(features[m], within=True) for m in ("a", "b")]
    want = rerank(combine_distances(within, [0.3, 0.7]), RERANK_PRESETS["lambda05"])
    blocks_close(got, want)
    qe = compute_method(
        MethodSpec(name="q", kind="single", members=["a"], steps={"query_expansion": 2}), features
    )
    blocks_close(qe, feature_distances(expand_features(features["a"], QueryExpansion(2))))


def test_evaluate_method_and_per_query_table(features, tmp_path) -> None:
    method = evaluate_method(MethodSpec(name="b", kind="single", members=["b"]), features)
    direct = evaluate_distances(feature_distances(features["b"]))
    assert method.result.mAP == pytest.approx(direct.mAP)
    metrics = method.metrics()
    assert len(metrics["cmc"]) == 20 and metrics["num_queries"] == 24
    rows = per_query_rows(method)
    assert len(rows) == 24 and list(rows[0]) == list(PER_QUERY_COLUMNS)
    assert np.mean([r["ap"] for r in rows]) == pytest.approx(method.result.mAP, abs=1e-5)
    assert all(r["top1_correct"] == int(r["first_match_rank"] == 1) for r in rows)
    assert np.mean([r["top1_correct"] for r in rows]) == pytest.approx(method.result.rank1)
    fs = features["b"]
    gal = {int(b): u for b, u in zip(fs.bbox_idx[fs.role == "gallery"],
                                     fs.person_uid[fs.role == "gallery"], strict=True)}  # fmt: skip
    assert all((gal[r["top1_gallery_bbox_idx"]] == r["person_uid"]) == r["top1_correct"]
               for r in rows)  # fmt: skip
    path = write_per_query_csv(tmp_path / "pq.csv", rows)
    with open(path, newline="") as handle:
        read = list(csv.DictReader(handle))
    assert len(read) == 24 and read[0]["clazz"] == "Player_team_left"


def test_class_breakdown_groups_queries(features) -> None:
    method = evaluate_method(MethodSpec(name="a", kind="single", members=["a"]), features)
    groups = class_breakdown(method)
    assert list(groups) == ["players", "goalkeepers", "referees"]
    assert [g["num_queries"] for g in groups.values()] == [12, 6, 6]
    overall = sum(g["mAP"] * g["num_queries"] for g in groups.values()) / 24
    assert overall == pytest.approx(method.result.mAP)
    assert class_group("Side_referee") == "referees" and class_group("Pedestrian") == "other"


def test_tuned_weights_refused_on_their_own_split(features) -> None:
    spec = MethodSpec(name="t", kind="average", members=["a", "b", "c"])
    tuned, search = tune_weights(spec, features, step=0.5)
    assert tuned.weights is not None and sum(tuned.weights) == pytest.approx(1.0)
    assert tuned.weights == list(search.weights)
    with pytest.raises(ConfigError, match="same split"):
        check_reported_split(search, features["a"])
    check_reported_split(search, features["a"], allow_same_split=True)
    test_split = make_features(0, 0.9, split="test", actions=5)
    check_reported_split(search, test_split)


def test_folded_method_takes_each_action_from_its_folds_spec() -> None:
    from footreid.evaluate.methods import FoldedSpec, method_from_dict

    a, b = make_features(1, 0.9), make_features(2, 0.9)
    features = {"a": a, "b": b}
    spec_a = MethodSpec(name="a", kind="single", members=["a"])
    spec_b = MethodSpec(name="b", kind="single", members=["b"])
    folded = FoldedSpec(name="cross", folds=(((0, 1, 2), spec_a), ((3, 4, 5), spec_b)))
    assert folded.members == ["a", "b"]
    assert method_from_dict(folded.to_dict()) == folded
    assert method_from_dict(spec_a.to_dict()) == spec_a
    dist = compute_method(folded, features)
    by_a, by_b = compute_method(spec_a, features), compute_method(spec_b, features)
    for block in dist:
        source = by_a if block.action_idx < 3 else by_b
        expected = next(x for x in source if x.action_idx == block.action_idx)
        assert np.array_equal(block.qg, expected.qg)
    result = evaluate_method(folded, features).result
    per_a = evaluate_method(spec_a, features).result
    per_b = evaluate_method(spec_b, features).result
    take_a = per_a.action_idx < 3
    expected_ap = np.where(take_a, per_a.average_precision, per_b.average_precision)
    assert np.allclose(result.average_precision, expected_ap)
    with pytest.raises(ConfigError, match="each action once"):
        FoldedSpec(name="bad", folds=(((0, 1), spec_a), ((1, 2), spec_b)))
    with pytest.raises(DataError, match="in no fold"):
        compute_method(FoldedSpec(name="short", folds=(((0, 1), spec_a),)), features)
