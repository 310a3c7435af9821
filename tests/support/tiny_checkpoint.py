"""Tiny footreid training checkpoints for the export and API tests (seeded, seconds).

``write_tiny_checkpoint(path, name, size, seed, **options)`` saves what ``footreid train``
saves: the model with a 3-class classifier (which exports must drop), its BatchNorm
statistics drawn at random (so eval-mode normalisation is exercised, not the identity),
a resolved config that names the training data and recipe, and a validation record.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import torch

from footreid.models import create_model
from footreid.train.checkpoint import model_entries, save_checkpoint

TINY_SIZE = (64, 32)
BEST = {"metric": "mAP", "value": 0.529, "global_epoch": 4}


def tiny_config(name: str, size: tuple[int, int], seed: int, options: dict[str, Any]) -> dict:
    """A resolved run config as footreid train records it (the fields the card reads)."""
    return {
        "name": "snmot_osnet",
        "data": {"root": "../shared/data/snmot-reid"},
        "model": {"name": name, "pretrained": "imagenet", "options": options},
        "loss": {"ce": {"weight": 1.0}, "triplet": {"weight": 0.5, "margin": 0.3}},
        "optim": {"name": "adam", "schedule": "cosine"},
        "stages": [{"name": "full", "epochs": 4, "lr": 1e-4, "input_size": list(size)}],
        "train": {"seed": seed},
        "val": {"split": "valid"},
    }


def write_tiny_checkpoint(
    path: Path,
    name: str = "osnet_x0_25",
    size: tuple[int, int] = TINY_SIZE,
    seed: int = 0,
    **options: Any,
) -> Path:
    """A checkpoint of ``name`` with seeded random weights and BN statistics."""
    generator = torch.Generator().manual_seed(seed)
    with torch.random.fork_rng():
        torch.manual_seed(seed)
        model = create_model(name, num_classes=3, **options)
    for module in model.modules():
        if isinstance(module, torch.nn.BatchNorm1d | torch.nn.BatchNorm2d):
            n = module.num_features
            module.running_mean.copy_(0.1 * torch.randn(n, generator=generator))
            module.running_var.copy_(0.5 + torch.rand(n, generator=generator))
    entries = model_entries(model, size, tiny_config(name, size, seed, options))
    entries.update({"best": dict(BEST), "metrics": {"epoch": 4, "mAP": 0.529}})
    return save_checkpoint(entries, path)
