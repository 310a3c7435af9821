"""The stage plan: checks, progressive resizing by epoch, subsets and class signatures."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import pytest

from footreid.core.config import StageConfig
from footreid.core.errors import ConfigError
from footreid.data.soccernet import read_train
from footreid.train.stages import (
    Stage,
    class_actions,
    class_signature,
    count_classes,
    plan_stages,
    stage_samples,
)


def test_progressive_sizes_by_epoch() -> None:
    cfg = StageConfig(
        name="s", epochs=6, input_size=[256, 128], progressive=[[128, 64, 2], [192, 96, 1]]
    )
    (stage,) = plan_stages([cfg], (256, 128))
    assert stage.sizes() == [(128, 64), (128, 64), (192, 96), (256, 128), (256, 128), (256, 128)]
    assert stage.size_at(10) == (256, 128)


def test_plan_resolves_defaults_and_keeps_order() -> None:
    plan = plan_stages(
        [
            StageConfig(name="a", fraction=0.1, epochs=2, lr=1e-3),
            StageConfig(name="b", fraction=0.3, subset="prefix", epochs=3, lr=5e-4),
            StageConfig(name="c", epochs=4, lr=1e-4, input_size=[384, 192]),
        ],
        (256, 128),
    )
    assert [(s.index, s.name, s.fraction, s.subset) for s in plan] == [
        (0, "a", 0.1, "random"),
        (1, "b", 0.3, "prefix"),
        (2, "c", 1.0, "random"),
    ]
    assert [s.input_size for s in plan] == [(256, 128), (256, 128), (384, 192)]
    assert plan[2].sizes() == [(384, 192)] * 4


@pytest.mark.parametrize(
    ("stages", "match"),
    [
        ([], "at least one"),
        ([StageConfig(fraction=0.0)], "fraction"),
        ([StageConfig(fraction=1.5)], "fraction"),
        ([StageConfig(epochs=0)], "epochs"),
        ([StageConfig(lr=0.0)], "lr"),
        ([StageConfig(input_size=[256])], "input_size"),
        ([StageConfig(input_size=[0, 128])], "input_size"),
        ([StageConfig(epochs=2, progressive=[[128, 64, 2]])], "leave at least one epoch"),
        ([StageConfig(epochs=3, progressive=[[128, 64]])], "progressive.0"),
        ([StageConfig(name="x"), StageConfig(name="x")], "unique"),
    ],
)
def test_bad_plans_name_the_field(stages: list[StageConfig], match: str) -> None:
    with pytest.raises(ConfigError, match=match):
        plan_stages(stages, (256, 128))


def test_vit_sizes_must_be_patch_multiples_and_the_error_suggests_one() -> None:
    with pytest.raises(ConfigError, match=r"patch size 14; use \[378, 196\]"):
        plan_stages([StageConfig(input_size=[384, 192])], (224, 112), patch_size=14)
    with pytest.raises(ConfigError, match="progressive.0"):
        plan_stages([StageConfig(epochs=3, progressive=[[100, 50, 1]])], (224, 112), 14)
    (ok,) = plan_stages([StageConfig(input_size=[378, 196])], (224, 112), patch_size=14)
    assert ok.input_size == (378, 196)


def test_stage_samples_subset_and_relabel(tiny_root: Path) -> None:
    train = read_train(tiny_root)
    stage = Stage(0, "a", 0.5, "prefix", 1, 1e-3, (64, 32))
    subset = stage_samples(train, stage, seed=0)
    n_actions = max(s.action_idx for s in train) + 1
    assert subset and all(s.action_idx < 0.5 * n_actions for s in subset)
    assert count_classes(subset) == len({s.person_uid for s in subset})
    assert stage_samples(train, Stage(0, "b", 1.0, "random", 1, 1e-3, (64, 32)), 0) == train
    r1 = stage_samples(train, Stage(0, "r", 0.5, "random", 1, 1e-3, (64, 32)), seed=1)
    r2 = stage_samples(train, Stage(0, "r", 0.5, "random", 1, 1e-3, (64, 32)), seed=1)
    assert [s.bbox_idx for s in r1] == [s.bbox_idx for s in r2]


def test_class_signature_tracks_the_identities_behind_labels(tiny_root: Path) -> None:
    train = read_train(tiny_root)
    half = stage_samples(train, Stage(0, "a", 0.5, "prefix", 1, 1e-3, (64, 32)), 0)
    assert class_signature(train) == class_signature(list(reversed(train)))
    assert class_signature(train) != class_signature(half)
    assert len(class_signature(train)) == 40


def test_count_classes_refuses_gaps(tiny_root: Path) -> None:
    from dataclasses import replace

    train = read_train(tiny_root)
    assert count_classes(train) == len({s.label for s in train})
    gapped = [replace(s, label=s.label + 1) for s in train]
    with pytest.raises(ConfigError, match="contiguous"):
        count_classes(gapped)


def test_class_actions_maps_each_label_to_its_action(tiny_root: Path) -> None:
    samples = read_train(tiny_root)
    actions = class_actions(samples)
    assert len(actions) == count_classes(samples)
    for s in samples:
        assert actions[s.label] == s.action_idx
    merged = [replace(s, label=0) for s in samples[:2]]
    merged[1] = replace(merged[1], action_idx=merged[0].action_idx + 1)
    with pytest.raises(ConfigError, match="within one action"):
        class_actions(merged)
