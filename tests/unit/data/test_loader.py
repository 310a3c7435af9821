"""Datasets and loaders: batch layout, sampler choice, seeded augmentation per position."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch

from footreid.core.config import AugmentConfig, DataConfig
from footreid.core.errors import ConfigError
from footreid.data.loader import (
    ReidDataset,
    build_batch_sampler,
    build_train_loader,
)
from footreid.data.samplers import ActionSampler, IdentitySampler, RandomBatchSampler
from footreid.data.soccernet import read_train
from footreid.data.transforms import build_test_transform, build_train_transform

MEAN, STD = (0.5, 0.5, 0.5), (0.25, 0.25, 0.25)


@pytest.fixture(scope="module")
def train(tiny_root: Path) -> list:
    return read_train(tiny_root)


@pytest.mark.parametrize(
    ("sampler", "cls"),
    [("pk", IdentitySampler), ("action", ActionSampler), ("random", RandomBatchSampler)],
)
def test_sampler_by_name(train: list, sampler: str, cls: type) -> None:
    data = DataConfig(sampler=sampler, batch_size=8, num_instances=2)  # type: ignore[arg-type]
    assert type(build_batch_sampler(train, data, seed=0)) is cls


def test_unknown_sampler_and_unlabelled_samples(train: list) -> None:
    with pytest.raises(ConfigError, match="choose pk, action, random"):
        build_batch_sampler(train, DataConfig(sampler="pxk"), 0)  # type: ignore[arg-type]
    from dataclasses import replace

    with pytest.raises(ConfigError, match="labels >= 0"):
        build_batch_sampler([replace(s, label=-1) for s in train], DataConfig(), 0)


def test_train_loader_batches_and_seeded_augmentation(train: list) -> None:
    data = DataConfig(batch_size=8, num_instances=2)
    transform = build_train_transform((32, 16), MEAN, STD, AugmentConfig(erase=1.0))
    batches = build_batch_sampler(train, data, seed=0)
    loader = build_train_loader(ReidDataset(train, transform), batches, seed=0)
    images, labels, indices = next(iter(loader))
    assert images.shape == (8, 3, 32, 16) and images.dtype == torch.float32
    assert labels.dtype == indices.dtype == torch.int64
    assert labels.tolist() == [train[i].label for i in indices.tolist()]
    again, _, _ = next(iter(loader))
    assert torch.equal(images, again)  # same epoch, same draws
    loader.batch_sampler.set_epoch(1)
    other, _, _ = next(iter(loader))
    assert not torch.equal(images, other)


@pytest.mark.slow
def test_augmentation_does_not_depend_on_worker_count(train: list) -> None:
    data = DataConfig(batch_size=8, num_instances=2)
    transform = build_train_transform((32, 16), MEAN, STD, AugmentConfig(color_jitter=0.5))
    outs = []
    for workers in (0, 2):
        batches = build_batch_sampler(train, data, seed=3)
        loader = build_train_loader(ReidDataset(train, transform), batches, 3, workers)
        outs.append([b[0] for _, b in zip(range(3), loader, strict=False)])
    assert all(torch.equal(a, b) for a, b in zip(*outs, strict=True))


def test_negative_workers_refused(train: list) -> None:
    batches = build_batch_sampler(train, DataConfig(batch_size=8, num_instances=2), 0)
    with pytest.raises(ConfigError, match="num_workers"):
        build_train_loader(
            ReidDataset(train, build_test_transform((8, 4), MEAN, STD)), batches, 0, -1
        )
