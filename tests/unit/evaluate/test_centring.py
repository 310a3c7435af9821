"""Action centring: each crop minus its action's mean feature, re-normalised."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest
from test_methods import make_features  # the evaluate folder's feature builder

from footreid.core.errors import ConfigError
from footreid.evaluate.centring import centre_features
from footreid.evaluate.methods import MethodSpec, compute_method, evaluate_method


def test_centring_matches_a_loop_over_actions() -> None:
    features = make_features(3, 0.5)
    out = centre_features(features)
    for a in np.unique(features.action_idx):
        rows = np.flatnonzero(features.action_idx == a)
        mean = features.features[rows].astype(np.float64).mean(0)
        for r in rows:
            v = features.features[r] - mean
            assert np.allclose(out.features[r], v / np.linalg.norm(v), atol=1e-6)
    assert np.allclose(np.linalg.norm(out.features, axis=1), 1.0, atol=1e-6)
    assert out.meta["centred"] == "action" and "centred" not in features.meta


def test_a_crop_alone_in_its_action_keeps_its_feature() -> None:
    features = make_features(3, 0.5)
    alone = features.subset(np.flatnonzero(features.action_idx != 0)[:1])
    assert np.allclose(centre_features(alone).features, alone.features)


def test_a_shared_component_no_longer_decides_the_ranking() -> None:
    """An action-wide offset swamps the identities; centring removes it exactly."""
    base = make_features(4, 1.0)
    rng = np.random.default_rng(0)
    offset = 10.0 * rng.normal(size=(6, base.dim))[base.action_idx]
    noisy = replace(base, features=(base.features + offset).astype(np.float32))
    assert np.allclose(centre_features(noisy).features, centre_features(base).features, atol=1e-5)
    plain = evaluate_method(
        MethodSpec(name="x", kind="single", members=["x"]), {"x": noisy}
    ).result.mAP
    centred = evaluate_method(
        MethodSpec(name="x", kind="single", members=["x"], steps={"centre": "action"}), {"x": noisy}
    )
    assert centred.result.mAP > plain


@pytest.mark.parametrize("kind", ["single", "concat"])
def test_method_spec_centres_every_member_before_combining(kind: str) -> None:
    a, b = make_features(1, 0.6), make_features(2, 0.6)
    members = ["a"] if kind == "single" else ["a", "b"]
    feats = {"a": a, "b": b}
    centred = {k: centre_features(v) for k, v in feats.items()}
    got = compute_method(
        MethodSpec(name="m", kind=kind, members=members, steps={"centre": "action"}), feats
    )
    want = compute_method(MethodSpec(name="m", kind=kind, members=members), centred)
    for g, w in zip(got, want, strict=True):
        assert np.allclose(g.qg, w.qg, atol=1e-6)
    assert (
        MethodSpec.from_dict({"name": "m", "kind": "single", "members": ["a"]}).step("centre")
        is None
    )


def test_view_centring_centres_queries_and_gallery_of_an_action_apart() -> None:
    features = make_features(3, 0.5)
    out = centre_features(features, "view")
    for a in np.unique(features.action_idx):
        for role in ("query", "gallery"):
            rows = np.flatnonzero((features.action_idx == a) & (features.role == role))
            v = features.features[rows].astype(np.float64)
            v -= v.mean(0)
            v /= np.linalg.norm(v, axis=1, keepdims=True)
            assert np.allclose(out.features[rows], v, atol=1e-6)
    shift = replace(  # a camera-style offset on the gallery side only is removed exactly
        features,
        features=features.features + 5.0 * (features.role == "gallery")[:, None].astype(np.float32),
    )
    assert np.allclose(centre_features(shift, "view").features, out.features, atol=1e-5)
    with pytest.raises(ConfigError, match="action, view"):
        centre_features(features, "team")
    with pytest.raises(ConfigError, match="action, view"):
        MethodSpec(name="m", kind="single", members=["a"], steps={"centre": "both"})
