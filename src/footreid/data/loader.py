"""Datasets over Samples and the DataLoaders that feed training and evaluation.

A training batch is ``(images, labels, indices)``: (B, 3, H, W) float32 normalised,
(B,) int64 training labels, (B,) int64 positions in the sample list. Each image is
augmented with its own ``torch.Generator`` seeded from (run seed, epoch, batch,
position), so the same run redraws the same augmentations with any number of workers.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence

import torch
from torch.utils.data import DataLoader, Dataset

from footreid.core.config import DataConfig
from footreid.core.errors import ConfigError
from footreid.core.records import Sample
from footreid.data.occlusion import Occluder, Occlusion
from footreid.data.samplers import (
    ActionSampler,
    IdentitySampler,
    RandomBatchSampler,
    _PlannedBatches,
    mix_seed,
)
from footreid.data.transforms import ImageTransform

Key = int | tuple[int, int]


class ReidDataset(Dataset):
    """Crops decoded (RGB) and transformed, with their label and index.

    Args:
        samples: the crops (``label`` is the training class, -1 outside training).
        transform: ``(PIL image, torch.Generator | None) -> (3, H, W)`` tensor, fixed for
            the dataset's life (progressive resizing builds one dataset per input size).
        occlusion: neighbour occlusion of training crops (drawn only for items that
            come with an augmentation seed), or None.
    """

    def __init__(
        self,
        samples: Sequence[Sample],
        transform: ImageTransform,
        occlusion: Occlusion | None = None,
    ) -> None:
        self.samples = list(samples)
        self.transform = transform
        self.occluder = None
        if occlusion is not None and occlusion.probability > 0:
            self.occluder = Occluder(self.samples, occlusion)

    def __len__(self) -> int:
        return len(self.samples)

    def __getitem__(self, key: Key) -> tuple[torch.Tensor, int, int]:
        """``key`` is an index, or ``(index, augmentation seed)``."""
        from footreid.data.images import load_image

        index, seed = key if isinstance(key, tuple) else (key, None)
        sample = self.samples[index]
        generator = None if seed is None else torch.Generator().manual_seed(seed)
        x = self.transform(load_image(sample.path), generator)
        if self.occluder is not None and generator is not None:
            g = generator

            def render(i: int) -> torch.Tensor:
                return self.transform(load_image(self.samples[i].path), g)

            x = self.occluder(x, index, generator, render)
        return x, sample.label, index


class SeededBatches:
    """Wraps a batch sampler: yields ``[(index, augmentation seed), ...]`` per batch.

    The seed of an item is ``mix_seed(seed, epoch, batch number, position)``, so it
    depends on where the item is drawn, not on which worker decodes it.
    """

    def __init__(self, batches: _PlannedBatches, seed: int) -> None:
        self.batches = batches
        self.seed = seed

    def set_epoch(self, epoch: int) -> None:
        """Forward to the wrapped sampler."""
        self.batches.set_epoch(epoch)

    def __iter__(self) -> Iterator[list[tuple[int, int]]]:
        epoch = self.batches.epoch
        for b, batch in enumerate(self.batches):
            yield [(i, mix_seed(self.seed, epoch, b, j)) for j, i in enumerate(batch)]

    def __len__(self) -> int:
        return len(self.batches)


def build_batch_sampler(
    samples: Sequence[Sample], data: DataConfig, seed: int, num_replicas: int = 1, rank: int = 0
) -> _PlannedBatches:
    """The sampler named by ``data.sampler`` over ``samples`` (labels and actions).

    Args:
        samples: training crops with labels 0..C-1.
        data: ``sampler``, ``batch_size`` (per rank), ``num_instances``.
        seed: run seed; num_replicas, rank: DDP world size and rank.
    """
    labels = [s.label for s in samples]
    if any(label < 0 for label in labels):
        raise ConfigError("training samples need labels >= 0 (read them with read_train)")
    if data.sampler == "pk":
        return IdentitySampler(
            labels, data.batch_size, data.num_instances, seed, num_replicas, rank
        )
    if data.sampler == "action":
        actions = [s.action_idx for s in samples]
        return ActionSampler(
            labels, actions, data.batch_size, data.num_instances, seed, num_replicas, rank
        )
    if data.sampler == "random":
        return RandomBatchSampler(len(samples), data.batch_size, seed, num_replicas, rank)
    raise ConfigError(f"data.sampler: unknown sampler '{data.sampler}'; choose pk, action, random")


def build_train_loader(
    dataset: ReidDataset,
    batches: _PlannedBatches,
    seed: int,
    num_workers: int = 0,
    pin_memory: bool = False,
) -> DataLoader:
    """A DataLoader of ``(images, labels, indices)`` training batches.

    Call ``batches.set_epoch(e)`` before each epoch. Several loaders may share one batch
    sampler (training builds one loader per input size of a stage, each with its own
    dataset and transform), so nothing is changed in place between epochs.

    Args:
        dataset: the training crops.
        batches: a batch sampler from :func:`build_batch_sampler`.
        seed: run seed of the augmentations.
        num_workers: decoding processes (0: in the calling process).
        pin_memory: pin batches (for CUDA).
    """
    if num_workers < 0:
        raise ConfigError(f"data.num_workers: must be >= 0, got {num_workers}")
    return DataLoader(
        dataset,
        batch_sampler=SeededBatches(batches, seed),
        num_workers=num_workers,
        pin_memory=pin_memory,
        persistent_workers=False,
        collate_fn=collate,
    )


def collate(items: list[tuple[torch.Tensor, int, int]]) -> tuple[torch.Tensor, ...]:
    """Stack ``(image, label, index)`` items into (B, 3, H, W), (B,) int64, (B,) int64."""
    images, labels, indices = zip(*items, strict=True)
    return (
        torch.stack(images),
        torch.as_tensor(labels, dtype=torch.int64),
        torch.as_tensor(indices, dtype=torch.int64),
    )
