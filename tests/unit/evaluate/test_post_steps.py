"""Post-steps: one registry, one spelling of "off", a new step is one registration."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest
from tests.unit.evaluate.test_methods import make_features

from footreid.core.errors import ConfigError
from footreid.evaluate.methods import MethodSpec, compute_method
from footreid.evaluate.post_steps import POST_STEPS, PostStep, parse_step, register


@pytest.fixture()
def features():
    return {"a": make_features(0, 0.9), "b": make_features(1, 1.1)}


@pytest.mark.parametrize("off", [None, "none", "off", "None", " OFF "])
@pytest.mark.parametrize("name", ["centre", "rerank", "query_expansion"])
def test_every_spelling_of_off_is_none(name: str, off) -> None:
    assert parse_step(name, off) is None
    spec = MethodSpec(name="m", kind="single", members=["a"], steps={name: off})
    assert spec.steps == () and spec.step(name) is None
    assert spec.to_dict()[name] is None


def test_specs_are_built_with_keywords_only() -> None:
    with pytest.raises(TypeError):
        MethodSpec("m", "single", ["a"])  # type: ignore[misc]


def test_unknown_step_names_the_registered_ones() -> None:
    with pytest.raises(ConfigError, match="did you mean centre"):
        parse_step("centr", "action")


def test_spec_round_trips_with_its_steps() -> None:
    spec = MethodSpec(
        name="m", kind="single", members=["a"], steps={"centre": "view", "rerank": "standard"}
    )
    data = spec.to_dict()
    assert list(data)[-3:] == ["rerank", "query_expansion", "centre"]
    assert MethodSpec.from_dict(data) == spec
    assert spec.with_steps(centre="none").step("centre") is None


@pytest.fixture()
def registry():
    before = dict(POST_STEPS)
    yield POST_STEPS
    POST_STEPS.clear()
    POST_STEPS.update(before)


def test_a_registered_fake_step_runs_in_compute_method(registry, features) -> None:
    """Adding a post-step: one function and one registration, nothing else changes."""
    calls = []

    def scale(dist, factor):
        calls.append(factor)
        blocks = [replace(b, qg=b.qg * factor) for b in dist.blocks]
        return replace(dist, blocks=blocks)

    register(PostStep(name="scale", stage="distances", parse=float, apply=scale))
    spec = MethodSpec(name="s", kind="single", members=["a"], steps={"scale": "2"})
    assert spec.step("scale") == 2.0 and spec.to_dict()["scale"] == 2.0
    plain = compute_method(MethodSpec(name="p", kind="single", members=["a"]), features)
    scaled = compute_method(spec, features)
    assert calls == [2.0]
    for p, s in zip(plain.blocks, scaled.blocks, strict=True):
        np.testing.assert_allclose(s.qg, 2 * p.qg)
    assert MethodSpec(name="s", kind="single", members=["a"], steps={"scale": "off"}).steps == ()
    with pytest.raises(ValueError, match="registered twice"):
        register(PostStep(name="scale", stage="distances", parse=float, apply=scale))
