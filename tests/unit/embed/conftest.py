"""Tiny training checkpoints for the embedding tests (random weights, seeded)."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch

from footreid.models import create_model
from footreid.train.checkpoint import model_entries, save_checkpoint

TINY_SIZE = (64, 32)


def write_checkpoint(
    path: Path, name: str = "osnet_x0_25", size: tuple[int, int] = TINY_SIZE, seed: int = 0
) -> Path:
    """A training checkpoint of ``name`` with seeded random weights, trained "at" ``size``."""
    with torch.random.fork_rng():
        torch.manual_seed(seed)
        model = create_model(name, num_classes=0)
    return save_checkpoint(model_entries(model, size, {"seed": seed}), path)


@pytest.fixture(scope="session")
def tiny_checkpoint(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return write_checkpoint(tmp_path_factory.mktemp("ckpt") / "osnet.pt")


@pytest.fixture(scope="session")
def checkpoint_factory():
    """``write_checkpoint(path, name, size, seed)`` for tests that need other checkpoints."""
    return write_checkpoint
