"""Experiment config validation: every refusal names the field and the fix."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from footreid.core.errors import ConfigError
from footreid.experiment import DatasetSection, ExperimentConfig, ModelSection, load_experiment
from footreid.experiment.config import MethodsSection, slugify, validate


def config(**changes) -> ExperimentConfig:
    base = ExperimentConfig(
        models=[
            ModelSection(name="a", checkpoint="a.pt"),
            ModelSection(name="b", checkpoint="b.pt"),
        ],
        dataset=DatasetSection(root="data", split="test", tuning_split="valid"),
    )
    for key, value in changes.items():
        setattr(base, key, value)
    return base


def test_a_sound_config_passes() -> None:
    validate(config())


def test_reporting_on_the_tuning_split_is_refused() -> None:
    bad = config(dataset=DatasetSection(root="data", split="valid", tuning_split="valid"))
    with pytest.raises(ConfigError, match=r"dataset\.tuning_split: 'valid' is the reported split"):
        validate(bad)


def test_no_tuning_split_is_allowed() -> None:
    validate(config(dataset=DatasetSection(root="data", split="valid", tuning_split=None)))


@pytest.mark.parametrize(
    ("models", "message"),
    [
        ([], "lists no model"),
        ([ModelSection(name="a b", checkpoint="x.pt")], r"models\.0\.name"),
        ([ModelSection(name="a")], "exactly one of recipe, checkpoint or model"),
        ([ModelSection(name="a", checkpoint="x.pt", model="osnet_x0_25")], "exactly one"),
        ([ModelSection(name="a", model="osnet_x0_25")], "random weights are not reproducible"),
        (
            [ModelSection(name="a", checkpoint="x.pt"), ModelSection(name="a", checkpoint="y.pt")],
            "names must be unique",
        ),
    ],
)
def test_bad_models_are_refused(models: list[ModelSection], message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        validate(config(models=models))


@pytest.mark.parametrize(
    "weights", [{"a": 0.5, "zzz": 0.5}, {"a": 1.0}], ids=["unknown-model", "one-model"]
)
def test_bad_weighted_averages_are_refused(weights: dict[str, float]) -> None:
    with pytest.raises(ConfigError, match=r"methods\.weighted\.0"):
        validate(config(methods=MethodsSection(weighted=[weights])))


@pytest.mark.parametrize("off", ["none", "off", None])
def test_centring_off_has_every_spelling_of_off(off) -> None:
    validate(config(methods=MethodsSection(centre=off)))


def test_unknown_centring_is_refused_naming_the_field() -> None:
    with pytest.raises(ConfigError, match="methods.centre: centring 'both'"):
        validate(config(methods=MethodsSection(centre="both")))


def test_unknown_rerank_preset_is_refused() -> None:
    with pytest.raises(ConfigError):
        validate(config(methods=MethodsSection(rerank=["standrd"])))


@pytest.mark.parametrize(
    ("methods", "field"),
    [
        (MethodsSection(rerank=["standard", "none"]), "methods.rerank.1: 'none' adds no row"),
        (MethodsSection(rerank=["20,6,2"]), "methods.rerank.0: invalid re-ranking"),
        (MethodsSection(query_expansion=0), "methods.query_expansion: query_expansion k"),
        (MethodsSection(query_expansion="off"), "methods.query_expansion: 'off' adds no row"),
    ],
)
def test_post_step_values_are_parsed_by_the_registry_naming_the_field(
    methods: MethodsSection, field: str
) -> None:
    with pytest.raises(ConfigError, match=re.escape(field)):
        validate(config(methods=methods))


def test_yaml_with_an_unknown_key_is_refused_with_a_suggestion(tmp_path: Path) -> None:
    path = tmp_path / "exp.yaml"
    path.write_text(
        "models: [{name: a, checkpoint: a.pt}]\n"
        "dataset: {root: d, split: test, tuning_splt: valid}\n"
    )
    with pytest.raises(ConfigError, match="tuning_split"):
        load_experiment(path)


def test_yaml_overrides_are_validated(tmp_path: Path) -> None:
    path = tmp_path / "exp.yaml"
    path.write_text(
        "models: [{name: a, checkpoint: a.pt}, {name: b, checkpoint: b.pt}]\n"
        "dataset: {root: d, split: test, tuning_split: valid}\n"
    )
    assert load_experiment(path).dataset.split == "test"
    with pytest.raises(ConfigError, match="is the reported split"):
        load_experiment(path, ["dataset.split=valid"])


def test_slugify_makes_file_names() -> None:
    assert slugify("weighted 0.6/0.2 (tuned on valid)") == "weighted_0.6_0.2_tuned_on_valid"
    assert slugify("///") == "method"


def test_a_parameter_free_model_needs_no_weights(tmp_path: Path) -> None:
    validate(config(models=[ModelSection(name="hsv", model="hsv")]))
    path = tmp_path / "exp.yaml"
    path.write_text(
        "models: [{name: colour, model: hsv, options: {parts: 2, bins: [8, 8, 4]}}]\n"
        "dataset: {root: d, split: valid}\n"
    )
    assert load_experiment(path).models[0].options == {"parts": 2, "bins": [8, 8, 4]}
    validate(config(models=[ModelSection(name="clip", model="vit_base_patch16_clip_224.openai")]))


@pytest.mark.parametrize(
    ("model", "message"),
    [
        (ModelSection(name="a", model="hsv", pretrained="imagenet"), "no parameters, hence no"),
        (ModelSection(name="a", model="hsv", options={"parts": 0}), r"models\.0: .*option parts"),
        (ModelSection(name="a", model="hsvv"), r"models\.0: unknown model 'hsvv'.*did you mean"),
        (ModelSection(name="a", checkpoint="a.pt", options={"parts": 2}), r"models\.0\.options"),
        (ModelSection(name="a", model="osnet_x0_25"), "random weights are not reproducible"),
    ],
)
def test_registry_models_are_checked_on_the_meta_device(model: ModelSection, message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        validate(config(models=[model]))
