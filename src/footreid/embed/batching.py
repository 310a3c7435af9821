"""Decoding crops into uint8 batches, in the order they are given.

The profile (``benchmarks/profile_decode.py``) shows where the time goes: on one core,
decoding a SoccerNet-sized PNG takes ~0.15 ms, the antialiased resize to 256x128 ~0.2 ms,
normalising a float32 copy per crop ~0.2 ms -- against 10-90 ms of network per crop.
So the loader keeps crops as resized uint8 (3, H, W) tensors (4x less to copy between
processes than float32), the caller normalises a whole batch at once
(:func:`footreid.data.transforms.normalize_batch`), and decoding processes are used only
where there are cores to spare: on a CPU-bound machine of 1-2 cores a worker process
only competes with the network for the same cores and adds its start-up time.
"""

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


def usable_cpus() -> int:
    """CPUs this process may run on (its affinity mask, e.g. under ``taskset``)."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        return os.cpu_count() or 1


def default_num_workers(device_type: str = "cpu") -> int:
    """Decoding processes by default, sized to the cores this process may use.

    CPU inference: none on 1-2 cores (decoding costs ~0.5 ms a crop against >= 10 ms of
    network, so a worker would take cores from the network), else one (it decodes over
    1,000 crops/s, more than any CPU backend embeds). CUDA: the decoder is the bottleneck,
    so min(4, cores - 1).
    """
    cpus = usable_cpus()
    if device_type == "cuda":
        return max(0, min(4, cpus - 1))
    return 0 if cpus <= 2 else 1


def eval_transform(size: tuple[int, int], mean: Sequence[float], std: Sequence[float]) -> Any:
    """The evaluation transform, the one training validates with (resize, normalise).

    Args:
        size: (H, W) pixels.
        mean, std: per-channel RGB normalisation of [0, 1] images.

    Returns:
        A :class:`footreid.data.transforms.TestTransform`: called on an RGB PIL image it
        gives a (3, H, W) float32 tensor; its ``pixels`` method the (3, H, W) uint8 one.
    """
    from footreid.data.transforms import build_test_transform

    return build_test_transform(tuple(size), tuple(mean), tuple(std))


class CropDataset(Dataset):
    """Image files decoded (RGB, reduced size where the format allows) and resized.

    Args:
        paths: image files, in the order the embeddings must come out.
        transform: a :class:`~footreid.data.transforms.TestTransform` (items are its
            uint8 ``pixels``), or any RGB PIL image -> (3, H, W) tensor callable.
    """

    def __init__(self, paths: Sequence[str | Path], transform: Transform) -> None:
        self.paths = [Path(p) for p in paths]
        self.transform = transform
        self._pixels = getattr(transform, "pixels", transform)
        self._size = getattr(transform, "size", None)

    def __len__(self) -> int:
        return len(self.paths)

    def __getitem__(self, index: int) -> torch.Tensor:
        from footreid.data.images import load_image

        return self._pixels(load_image(self.paths[index], self._size))


def crop_loader(
    paths: Sequence[str | Path],
    transform: Transform,
    batch_size: int = 64,
    num_workers: int | None = None,
) -> DataLoader:
    """A DataLoader of (B, 3, H, W) batches of ``paths``, in order.

    Args:
        paths: image files.
        transform: see :func:`eval_transform`; batches are (B, 3, H, W) uint8 pixels
            for a ``TestTransform`` (normalise them with ``normalize_batch``), else
            whatever the callable returns, stacked.
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
