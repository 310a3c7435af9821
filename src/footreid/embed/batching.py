"""Decoding and resizing crops in DataLoader workers, in the order they are given."""

from __future__ import annotations

import os
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import torch
from torch.utils.data import DataLoader, Dataset

from footreid.core.log import get_logger

log = get_logger(__name__)

Transform = Callable[[Any], torch.Tensor]


def default_num_workers() -> int:
    """Decoding workers by default: min(4, CPU count)."""
    return min(4, os.cpu_count() or 1)


def eval_transform(size: tuple[int, int], mean: Sequence[float], std: Sequence[float]) -> Transform:
    """The evaluation transform, the one training validates with (resize, normalise).

    Args:
        size: (H, W) pixels.
        mean, std: per-channel RGB normalisation of [0, 1] images.

    Returns:
        A callable mapping an RGB PIL image to a (3, H, W) float32 tensor.
    """
    from footreid.data.transforms import build_test_transform

    return build_test_transform(tuple(size), tuple(mean), tuple(std))


class CropDataset(Dataset):
    """Image files decoded (RGB) and transformed one by one.

    Args:
        paths: image files, in the order the embeddings must come out.
        transform: RGB PIL image -> (3, H, W) float32 tensor.
    """

    def __init__(self, paths: Sequence[str | Path], transform: Transform) -> None:
        self.paths = [Path(p) for p in paths]
        self.transform = transform

    def __len__(self) -> int:
        return len(self.paths)

    def __getitem__(self, index: int) -> torch.Tensor:
        from footreid.data.images import load_image

        return self.transform(load_image(self.paths[index]))


def crop_loader(
    paths: Sequence[str | Path],
    transform: Transform,
    batch_size: int = 64,
    num_workers: int | None = None,
) -> DataLoader:
    """A DataLoader of (B, 3, H, W) float32 batches of ``paths``, in order.

    Args:
        paths: image files.
        transform: see :func:`eval_transform`.
        batch_size: crops per batch.
        num_workers: decoding processes; None means :func:`default_num_workers`, 0 decodes
            in the calling process.
    """
    if batch_size < 1:
        raise ValueError(f"batch_size must be >= 1, got {batch_size}")
    workers = default_num_workers() if num_workers is None else int(num_workers)
    # more workers than batches only costs process start-up time
    workers = max(0, min(workers, -(-len(paths) // batch_size)))
    return DataLoader(
        CropDataset(paths, transform),
        batch_size=batch_size,
        shuffle=False,
        num_workers=workers,
        pin_memory=False,
        persistent_workers=False,
        prefetch_factor=4 if workers else None,
    )
