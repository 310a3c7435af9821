"""JSON records of evaluated methods: metrics, intervals, classes, paired comparisons."""

from __future__ import annotations

import json

import numpy as np
import pytest

from footreid.core.errors import DataError
from footreid.core.records import FeatureSet
from footreid.evaluate.intervals import bootstrap_intervals, paired_bootstrap
from footreid.evaluate.methods import MethodResult, MethodSpec, evaluate_method
from footreid.evaluate.per_query import class_breakdown
from footreid.evaluate.summary import (
    SCHEMA,
    BootstrapSettings,
    comparison_record,
    evaluation_document,
    method_record,
)

CLASSES = ("Player_team_left", "Goalkeeper_team_right", "Main_referee", "Staff_members")


def make_features(seed: int, noise: float, first_bbox: int = 0, actions: int = 6) -> FeatureSet:
    """Actions of 4 persons, 1 query + 2 gallery crops each, around one centre per person."""
    rng = np.random.default_rng(seed)
    centres = np.random.default_rng(7).normal(size=(actions, 4, 8))
    rows = [(a, p, k) for a in range(actions) for p in range(4) for k in range(3)]
    feats = np.stack([centres[a, p] + noise * rng.normal(size=8) for a, p, _ in rows])
    roles = np.array(["query" if k == 0 else "gallery" for *_, k in rows])
    return FeatureSet(
        features=feats / np.linalg.norm(feats, axis=1, keepdims=True),
        bbox_idx=np.arange(len(rows)) + first_bbox,
        action_idx=[a for a, _, _ in rows],
        person_uid=[f"{a}_{p}" for a, p, _ in rows],
        role=roles,
        path=[f"{i}.png" for i in range(len(rows))],
        clazz=[CLASSES[p] for _, p, _ in rows],
        meta={"model": f"m{seed}", "split": "valid", "dataset_root": "/data"},
    )


@pytest.fixture(scope="module")
def methods() -> dict[str, MethodResult]:
    features = {"a": make_features(0, 1.0), "b": make_features(1, 1.3)}
    specs = [
        MethodSpec(name="a", kind="single", members=["a"]),
        MethodSpec(name="b", kind="single", members=["b"]),
        MethodSpec(name="avg", kind="average", members=["a", "b"]),
    ]
    return {s.name: evaluate_method(s, features) for s in specs}


def test_method_record_holds_the_library_numbers(methods: dict[str, MethodResult]) -> None:
    method = methods["a"]
    settings = BootstrapSettings(resamples=120, seed=2)
    record = method_record(method, ["a.npz"], settings)
    res = method.result
    assert record["name"] == "a" and record["spec"] == method.spec.to_dict()
    assert record["features_files"] == ["a.npz"]
    # an absolute root outside the working directory is recorded by its name
    assert (record["split"], record["dataset_root"]) == ("valid", "data")
    assert (record["mAP"], record["rank1"]) == (res.mAP, res.rank1)
    assert record["cmc"] == {str(k): res.cmc[k - 1] for k in (1, 5, 10, 20)}
    assert (record["num_queries"], record["num_skipped"], record["num_actions"]) == (24, 0, 6)
    assert record["per_class"] == class_breakdown(method)
    expected = bootstrap_intervals(res, resamples=120, seed=2)
    assert record["intervals"] == {k: iv.to_dict() for k, iv in expected.items()}
    assert method_record(method, ["a.npz"], None)["intervals"] is None


def test_short_cmc_keeps_the_ranks_it_has(methods: dict[str, MethodResult]) -> None:
    features = {"a": make_features(0, 1.0)}
    short = evaluate_method(
        MethodSpec(name="a", kind="single", members=["a"]), features, max_rank=5
    )
    assert list(method_record(short, [])["cmc"]) == ["1", "5"]


def test_comparison_record_is_the_paired_bootstrap(methods: dict[str, MethodResult]) -> None:
    settings = BootstrapSettings(resamples=80, seed=1, level=0.9)
    record = comparison_record(methods["a"], methods["avg"], settings)
    pairs = paired_bootstrap(methods["a"].result, methods["avg"].result, 80, 0.9, 1)
    assert (record["a"], record["b"]) == ("a", "avg")
    assert record["mAP"] == pairs["mAP"].to_dict() and record["rank1"] == pairs["rank1"].to_dict()


def test_comparison_refuses_other_queries(methods: dict[str, MethodResult]) -> None:
    other = {"c": make_features(2, 1.0, first_bbox=5000)}
    elsewhere = evaluate_method(MethodSpec(name="c", kind="single", members=["c"]), other)
    with pytest.raises(DataError, match="not scored on the same queries"):
        comparison_record(methods["a"], elsewhere, BootstrapSettings(resamples=10))


def test_document_is_strict_json(methods: dict[str, MethodResult]) -> None:
    settings = BootstrapSettings(resamples=30)
    records = [method_record(m, [f"{n}.npz"], settings) for n, m in methods.items()]
    comparisons = [comparison_record(methods["a"], methods["avg"], settings)]
    doc = evaluation_document("ensemble", records, comparisons, settings)
    again = json.loads(json.dumps(doc, allow_nan=False))
    assert again["schema"] == SCHEMA == "footreid.evaluation/1"
    assert again["bootstrap"] == {
        "resamples": 30,
        "seed": 0,
        "level": 0.95,
        "unit": "actions",
        "interval": "percentile",
    }
    assert [m["name"] for m in again["methods"]] == ["a", "b", "avg"]
    assert again["comparisons"][0]["mAP"]["difference"]["resamples"] == 30
    empty = evaluation_document("evaluate", [])
    assert empty["bootstrap"] is None and empty["methods"] == empty["comparisons"] == []
