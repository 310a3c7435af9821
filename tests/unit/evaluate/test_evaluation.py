"""The evaluation pieces the CLI and experiments share: members alone, their distances."""

from __future__ import annotations

import numpy as np
from tests.unit.evaluate.test_methods import make_features

from footreid.evaluate.distances import feature_distances
from footreid.evaluate.evaluation import evaluate_with_members, member_distances, member_specs
from footreid.evaluate.methods import MethodSpec, evaluate_method
from footreid.evaluate.post_steps import apply_stage


def _features():
    return {"a": make_features(0, 0.9), "b": make_features(1, 1.1)}


def test_members_keep_the_method_metric_and_centring_only() -> None:
    spec = MethodSpec(
        name="e",
        kind="average",
        members=["a", "b"],
        metric="euclidean",
        steps={"centre": "view", "rerank": "standard", "query_expansion": 2},
    )
    singles = member_specs(spec)
    assert [s.name for s in singles] == ["a", "b"]
    assert all(s.metric == "euclidean" and s.steps == (("centre", "view"),) for s in singles)


def test_member_distances_are_the_centred_members() -> None:
    features = _features()
    spec = MethodSpec(name="e", kind="average", members=["a", "b"], steps={"centre": "action"})
    got = member_distances(spec, features)
    for name, dist in zip("ab", got, strict=True):
        want = feature_distances(apply_stage("members", spec.steps, features[name]), "cosine")
        for g, w in zip(dist.blocks, want.blocks, strict=True):
            np.testing.assert_array_equal(g.qg, w.qg)
        assert dist.meta["split"] == "valid"


def test_evaluate_with_members_pairs_each_member_with_the_method() -> None:
    features = _features()
    spec = MethodSpec(name="e", kind="average", members=["a", "b"])
    both = evaluate_with_members(evaluate_method(spec, features), features)
    pairs = both.pairs()
    assert [a.spec.name for a, _ in pairs] == ["a", "b"]
    assert all(b is both.method for _, b in pairs)
    alone = evaluate_method(MethodSpec(name="a", kind="single", members=["a"]), features)
    assert both.members[0].result.mAP == alone.result.mAP
