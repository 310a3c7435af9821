"""A two-model experiment on the synthetic ``tiny`` set, run once per session.

The models are tiny random ViTs (no LoRA) at 56x28: fast to embed, and two seeds give
two different rankings, which is all the runner's bookkeeping needs.
"""

from __future__ import annotations

from pathlib import Path

import pytest
import torch

from footreid.embed.extract import EmbedOptions
from footreid.experiment import (
    DatasetSection,
    ExperimentConfig,
    MethodsSection,
    ModelSection,
    run_experiment,
)
from footreid.models import create_model
from footreid.train.checkpoint import model_entries, save_checkpoint

SIZE = (56, 28)


def write_checkpoint(path: Path, seed: int) -> Path:
    """A training checkpoint of a random tiny ViT (seeded), "trained" at 56x28."""
    with torch.random.fork_rng():
        torch.manual_seed(seed)
        model = create_model("vit_tiny_lora", num_classes=0, input_size=SIZE, lora=False)
    return save_checkpoint(model_entries(model, SIZE, {"seed": seed}), path)


def make_config(root: Path, out: Path, checkpoints: dict[str, Path], **methods) -> ExperimentConfig:
    """Test split reported, valid for tuning, one weighted average, one re-ranking preset."""
    names = list(checkpoints)
    defaults = {
        "weighted": [{names[0]: 0.75, names[1]: 0.25}],
        "weight_step": 0.5,
        "rerank": ["standard"],
    }
    return ExperimentConfig(
        name="exp",
        output_dir=str(out),
        dataset=DatasetSection(root=str(root), split="test", tuning_split="valid"),
        models=[ModelSection(name=n, checkpoint=str(p)) for n, p in checkpoints.items()],
        embed=EmbedOptions(
            flip_tta=False, batch_size=128, num_workers=0, device="cpu", precision="fp32"
        ),
        methods=MethodsSection(**(defaults | methods)),
    )


@pytest.fixture(scope="session")
def checkpoints(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    folder = tmp_path_factory.mktemp("experiment-ckpt")
    return {name: write_checkpoint(folder / f"{name}.pt", seed) for seed, name in enumerate("ab")}


@pytest.fixture(scope="session")
def experiment_run(
    tiny_root: Path, checkpoints: dict[str, Path], tmp_path_factory: pytest.TempPathFactory
) -> Path:
    """The run directory of the session's experiment (read-only for the tests)."""
    out = tmp_path_factory.mktemp("experiment-run")
    return run_experiment(make_config(tiny_root, out, checkpoints))


@pytest.fixture(scope="session")
def experiment_helpers() -> tuple:
    """``(make_config, write_checkpoint)`` for tests that build their own experiments."""
    return make_config, write_checkpoint
