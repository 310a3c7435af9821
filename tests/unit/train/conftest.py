"""A CPU-cheap run config over the tiny synthetic set, for the train tests."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
import torch

from footreid.core.config import RunConfig, load_config

MakeConfig = Callable[..., RunConfig]


def tiny_overrides(root: Path, out: Path) -> list[str]:
    """``--set`` overrides of a seconds-long run: osnet_x0_25, 64x32, 2 steps per epoch."""
    return [
        f"data.root={root}",
        f"output_dir={out}",
        "name=run",
        "data.num_workers=0",
        "data.batch_size=8",
        "data.num_instances=2",
        "model.name=osnet_x0_25",
        "model.pretrained=none",
        "optim.schedule=constant",
        "train.device=cpu",
        "train.threads=1",  # one thread: OpenMP spinning on a busy 2-core box costs 30x
        "train.precision=fp32",
        "train.max_steps_per_epoch=2",
        "train.tensorboard=false",
        "val.every=0",
        "stages=[{name: s1, fraction: 0.5, subset: prefix, epochs: 2, lr: 0.001, "
        "input_size: [64, 32]}, {name: s2, fraction: 1.0, epochs: 2, lr: 0.001, "
        "input_size: [64, 32], progressive: [[48, 24, 1]]}]",
    ]


@pytest.fixture(autouse=True)
def _restore_torch_threads() -> Iterator[None]:
    """``fit`` sets torch's thread count (``train.threads``); give it back afterwards."""
    threads = torch.get_num_threads()
    yield
    torch.set_num_threads(threads)


@pytest.fixture
def make_config(tiny_root: Path, tmp_path: Path) -> MakeConfig:
    """``make_config(*overrides, out=tmp_path)``: the tiny run config plus overrides."""

    def make(*overrides: str, out: Path | None = None) -> RunConfig:
        base = tiny_overrides(tiny_root, out or tmp_path / "runs")
        return load_config(None, [*base, *overrides])

    return make
