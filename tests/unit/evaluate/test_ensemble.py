"""Ensembles: concatenation = averaging, alignment checks; the weight search
(``evaluate/weight_search.py``) tuned on one split and reported on another."""

from __future__ import annotations

import numpy as np
import pytest

from footreid.core.errors import ConfigError, DataError
from footreid.core.records import FeatureSet
from footreid.evaluate.distances import feature_distances
from footreid.evaluate.ensemble import combine_distances, concat_features
from footreid.evaluate.metrics import evaluate_distances
from footreid.evaluate.weight_search import report_tuned, search_weights, simplex_grid, split_id


def make_split(seed: int, actions: int = 6, split: str = "valid", offset: int = 0) -> FeatureSet:
    """Labels of a small split: 3-5 players per action, 1 query and 2-3 gallery crops each."""
    rng = np.random.default_rng(seed)
    role, action, uid = [], [], []
    for a in range(actions):
        for p in range(int(rng.integers(3, 6))):
            n_g = int(rng.integers(2, 4))
            role += ["query"] + ["gallery"] * n_g
            action += [a] * (n_g + 1)
            uid += [f"{a}-{p}"] * (n_g + 1)
    n = len(role)
    return FeatureSet(
        features=np.zeros((n, 1), np.float32),
        bbox_idx=np.arange(n) + offset,
        action_idx=np.array(action),
        person_uid=np.array(uid),
        role=np.array(role),
        path=np.array([f"{i}.png" for i in range(n)]),
        clazz=np.array(["Player"] * n),
        meta={"split": split, "dataset_root": "/data/sn"},
    )


def with_features(labels: FeatureSet, seed: int, dim: int, noise: float, name: str) -> FeatureSet:
    """The split with features = per-person centre + noise (unit norm), meta model=name."""
    rng = np.random.default_rng(seed)
    _, person = np.unique(labels.person_uid, return_inverse=True)
    centres = rng.standard_normal((person.max() + 1, dim))
    x = centres[person] + noise * rng.standard_normal((len(labels), dim))
    x /= np.linalg.norm(x, axis=1, keepdims=True)
    out = labels.subset(np.arange(len(labels)))
    out.features = x.astype(np.float32)
    out.meta["model"] = name
    return out


@pytest.fixture(scope="module")
def models() -> list[FeatureSet]:
    labels = make_split(0)
    return [with_features(labels, 10 + i, 8 + 4 * i, 0.8, f"m{i}") for i in range(3)]


@pytest.mark.parametrize("weights", [None, (0.2, 0.2, 0.6), (0.0, 1.0, 3.0)])
@pytest.mark.parametrize("metric", ["sqeuclidean", "cosine"])
def test_concatenation_equals_weighted_averaging(
    models: list[FeatureSet], weights: tuple[float, ...] | None, metric: str
) -> None:
    concat = feature_distances(concat_features(models, weights), metric)  # type: ignore[arg-type]
    parts = [feature_distances(m, metric) for m in models]  # type: ignore[arg-type]
    averaged = combine_distances(parts, weights)
    for a, b in zip(concat, averaged, strict=True):
        np.testing.assert_allclose(a.qg, b.qg, atol=1e-5)


def test_plain_concatenation_is_m_times_the_average(models: list[FeatureSet]) -> None:
    plain = models[0].subset(np.arange(len(models[0])))
    plain.features = np.concatenate([m.features for m in models], axis=1)  # unit parts
    total = feature_distances(plain, "sqeuclidean")
    mean = combine_distances([feature_distances(m, "sqeuclidean") for m in models])
    for a, b in zip(total, mean, strict=True):
        np.testing.assert_allclose(a.qg, 3 * b.qg, atol=1e-5)


def test_concat_aligns_rows_and_keeps_meta(models: list[FeatureSet]) -> None:
    shuffled = models[1].subset(np.random.default_rng(1).permutation(len(models[1])))
    got = concat_features([models[0], shuffled])
    want = concat_features(models[:2])
    np.testing.assert_array_equal(got.features, want.features)
    assert got.features.shape == (len(models[0]), 8 + 12)
    np.testing.assert_allclose(np.linalg.norm(got.features, axis=1), 1.0, atol=1e-6)
    assert got.meta["model"] == "concat(m0+m1)" and got.meta["split"] == "valid"
    assert [p["model"] for p in got.meta["parts"]] == ["m0", "m1"]


def test_concat_rejects_misaligned_inputs(models: list[FeatureSet]) -> None:
    base = models[0]
    with pytest.raises(DataError, match="same query/gallery crops"):
        concat_features([base, models[1].subset(np.arange(len(base) - 1))])
    dup = models[1].subset(np.arange(len(base)))
    dup.bbox_idx[1] = dup.bbox_idx[2]
    dup.role[1] = dup.role[2]
    with pytest.raises(DataError, match="appears twice"):
        concat_features([base, dup])
    moved = models[1].subset(np.arange(len(base)))
    moved.action_idx[0] += 1
    with pytest.raises(DataError, match="action_idx"):
        concat_features([base, moved])
    other = models[1].subset(np.arange(len(base)))
    other.meta["split"] = "test"
    with pytest.raises(DataError, match="different 'split'"):
        concat_features([base, other])
    with pytest.raises(ConfigError, match="weights"):
        concat_features(models, [1.0, -1.0, 1.0])


def test_combine_distances_weights_within_and_normalisation(models: list[FeatureSet]) -> None:
    d = [feature_distances(m, "cosine", within=True) for m in models]
    out = combine_distances(d, [2, 2, 6])
    assert out.has_within and out.meta["weights"] == pytest.approx([0.2, 0.2, 0.6])
    for k, block in enumerate(out):
        for name in ("qg", "qq", "gg"):
            want = sum(
                w * getattr(x.blocks[k], name) for w, x in zip((0.2, 0.2, 0.6), d, strict=True)
            )
            np.testing.assert_allclose(getattr(block, name), want, atol=1e-6)
    scaled = feature_distances(models[1], "cosine")
    for b in scaled:
        b.qg = b.qg * 10
    plain = combine_distances([feature_distances(models[0], "cosine"), scaled], normalise="mean")
    ref = combine_distances([feature_distances(m, "cosine") for m in models[:2]], normalise="mean")
    for a, b in zip(plain, ref, strict=True):
        np.testing.assert_allclose(a.qg, b.qg, atol=1e-6)
    assert not combine_distances([d[0], feature_distances(models[1])]).has_within
    with pytest.raises(ConfigError, match="normalise"):
        combine_distances(d, normalise="zscore")  # type: ignore[arg-type]


def test_combine_distances_rejects_other_splits(models: list[FeatureSet]) -> None:
    other = with_features(make_split(5), 1, 8, 0.8, "x")
    with pytest.raises(DataError, match="model 1"):
        combine_distances([feature_distances(models[0]), feature_distances(other)])


def test_simplex_grid() -> None:
    grid = simplex_grid(3, 0.1)
    assert len(grid) == 66 and len(set(grid)) == 66
    assert all(abs(sum(w) - 1) < 1e-9 and min(w) >= 0 for w in grid)
    assert (1.0, 0.0, 0.0) in grid and (0.2, 0.2, 0.6) in grid
    assert simplex_grid(1, 0.25) == [(1.0,)]
    assert sorted(simplex_grid(2, 0.5)) == [(0.0, 1.0), (0.5, 0.5), (1.0, 0.0)]
    for bad in (0.3, 0.0, -0.1):
        with pytest.raises(ConfigError, match="step"):
            simplex_grid(2, bad)


def test_split_identity() -> None:
    valid, test = make_split(0, split="valid"), make_split(0, split="test", offset=1000)
    assert split_id(valid).same_as(split_id(valid))
    assert not split_id(valid).same_as(split_id(test))
    # two disjoint halves of one split (a hold-out) are different splits; overlap is not
    actions = valid.action_idx
    half_a, half_b, mixed = (
        valid.subset(actions < 3),
        valid.subset(actions >= 3),
        valid.subset(actions >= 2),
    )
    assert not split_id(half_a).same_as(split_id(half_b))
    assert split_id(half_b).same_as(split_id(mixed))
    # distances carry no split name: the labels still identify the split
    assert split_id(feature_distances(with_features(valid, 0, 4, 0.5, "m"))).same_as(
        split_id(valid)
    )


def test_weight_search_tunes_on_one_split_and_reports_on_another() -> None:
    tune_labels, report_labels = make_split(1, 8, "valid"), make_split(2, 8, "test", 5000)

    def dists(labels: FeatureSet) -> list:
        good = with_features(labels, 3, 16, 0.7, "good")
        bad = with_features(labels, 4, 16, 3.0, "bad")
        return [feature_distances(good, "cosine"), feature_distances(bad, "cosine")]

    tune, report = dists(tune_labels), dists(report_labels)
    search = search_weights(tune, step=0.25)
    assert len(search.tried) == 5
    assert search.tune_mAP == max(m for _, m in search.tried)
    assert search.weights[0] >= 0.5  # the informative model dominates
    check = evaluate_distances(combine_distances(tune, search.weights))
    assert check.mAP == pytest.approx(search.tune_mAP)
    with pytest.raises(ConfigError, match="allow_same_split"):
        report_tuned(search, tune)
    assert report_tuned(search, tune, allow_same_split=True).result.mAP == pytest.approx(
        search.tune_mAP
    )
    rep = report_tuned(search, report)
    want = evaluate_distances(combine_distances(report, search.weights))
    assert rep.result.mAP == pytest.approx(want.mAP) and rep.report_split.fingerprint != (
        search.tune_split.fingerprint
    )
    with pytest.raises(ConfigError, match="weights were tuned"):
        report_tuned(search, report[:1])
