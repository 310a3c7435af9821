"""Neighbour occlusion: a slab of another player of the same action over one side."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch

from footreid.core.errors import ConfigError
from footreid.core.records import Sample
from footreid.data.loader import ReidDataset
from footreid.data.occlusion import Occluder, Occlusion, occlusion_from_config
from footreid.data.soccernet import read_train
from footreid.data.transforms import build_test_transform


def sample(i: int, label: int, action: int) -> Sample:
    return Sample(
        path=Path(f"{i}.png"),
        bbox_idx=i,
        action_idx=action,
        person_uid=f"{action}_{label}",
        label=label,
        role="train",
        frame_idx=0,
        clazz="Player_team_left",
        id="None",
        uai=str(i),
        height=40,
        width=20,
    )


SAMPLES = [sample(0, 0, 0), sample(1, 1, 0), sample(2, 2, 1), sample(3, 2, 1)]


def crops(i: int) -> torch.Tensor:
    """A (3, 4, 10) crop whose every pixel holds 10 * index + column."""
    return (10.0 * i + torch.arange(10.0)).expand(3, 4, 10).clone()


def test_a_neighbour_of_another_identity_covers_one_side() -> None:
    occluder = Occluder(SAMPLES, Occlusion(1.0, (0.3, 0.3)))
    seen = set()
    for seed in range(20):
        out = occluder(crops(0), 0, torch.Generator().manual_seed(seed), crops)
        w = 3  # 0.3 of 10 columns
        middle = crops(1)[..., 3:6]  # the only other identity of action 0: its middle slab
        if torch.equal(out[..., :w], middle):
            seen.add("left")
            assert torch.equal(out[..., w:], crops(0)[..., w:])
        else:
            assert torch.equal(out[..., -w:], middle)
            assert torch.equal(out[..., :-w], crops(0)[..., :-w])
            seen.add("right")
    assert seen == {"left", "right"}


def test_no_neighbour_without_another_identity_in_the_action() -> None:
    occluder = Occluder(SAMPLES, Occlusion(1.0))
    x = crops(2)
    assert occluder(x, 2, torch.Generator().manual_seed(0), crops) is x  # label 2 is alone


def test_probability_and_determinism() -> None:
    never = Occluder(SAMPLES, Occlusion(0.0))
    assert never(crops(0), 0, torch.Generator().manual_seed(0), crops) is not None
    assert torch.equal(never(crops(0), 0, torch.Generator().manual_seed(0), crops), crops(0))
    half = Occluder(SAMPLES, Occlusion(0.5))
    changed = [
        not torch.equal(half(crops(0), 0, torch.Generator().manual_seed(s), crops), crops(0))
        for s in range(200)
    ]
    assert 60 < sum(changed) < 140
    again = [
        not torch.equal(half(crops(0), 0, torch.Generator().manual_seed(s), crops), crops(0))
        for s in range(200)
    ]
    assert changed == again


@pytest.mark.parametrize(
    ("occlude", "width", "match"),
    [(1.5, [0.2, 0.4], "probability"), (0.5, [0.5, 0.2], "min <= max"), (0.5, [0.2], "min, max")],
)
def test_bad_settings_name_the_field(occlude: float, width: list[float], match: str) -> None:
    with pytest.raises(ConfigError, match=match):
        occlusion_from_config(occlude, width)
    assert occlusion_from_config(0.0, [0.2, 0.4]) is None


def test_dataset_occludes_only_training_draws(tiny_root: Path) -> None:
    samples = read_train(tiny_root)[:40]
    transform = build_test_transform((32, 16), (0.5,) * 3, (0.5,) * 3)
    plain = ReidDataset(samples, transform)
    occluded = ReidDataset(samples, transform, Occlusion(1.0, (0.4, 0.4)))
    assert torch.equal(occluded[3][0], plain[3][0])  # no seed: evaluation-style item
    differ = sum(not torch.equal(occluded[(i, 7)][0], plain[(i, 7)][0]) for i in range(40))
    assert differ > 20  # nearly every crop has a neighbour in its action
    assert occluded[(5, 7)][1] == plain[(5, 7)][1]  # the label stays the crop's own
