"""torchrun environment, rank-0 I/O, and a real 2-process DDP run (gloo, CPU)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import torch
from torch import nn

from footreid.core.config import save_config
from footreid.core.errors import ConfigError
from footreid.data.loader import build_batch_sampler
from footreid.data.samplers import mix_seed
from footreid.data.soccernet import read_train
from footreid.train.distributed import (
    DistEnv,
    RankZeroWriter,
    all_true,
    broadcast,
    read_env,
    unwrap_model,
    wrap_model,
)


def test_read_env_defaults_and_torchrun_values(monkeypatch: pytest.MonkeyPatch) -> None:
    for key in ("RANK", "WORLD_SIZE", "LOCAL_RANK"):
        monkeypatch.delenv(key, raising=False)
    assert read_env() == DistEnv(0, 1, 0) and read_env().is_main
    monkeypatch.setenv("RANK", "3")
    monkeypatch.setenv("WORLD_SIZE", "4")
    monkeypatch.setenv("LOCAL_RANK", "1")
    env = read_env()
    assert (env.rank, env.world_size, env.local_rank) == (3, 4, 1)
    assert env.is_distributed and not env.is_main
    monkeypatch.setenv("RANK", "4")
    with pytest.raises(ConfigError, match="RANK 4 not in 0..3"):
        read_env()
    monkeypatch.setenv("RANK", "x")
    with pytest.raises(ConfigError, match="torchrun environment"):
        read_env()


def test_single_process_helpers_are_pass_through() -> None:
    model = nn.Linear(2, 2)
    assert wrap_model(model, DistEnv(), torch.device("cpu")) is model
    assert unwrap_model(model) is model
    assert all_true(False, DistEnv(), torch.device("cpu")) is False
    assert broadcast({"a": 1}, DistEnv()) == {"a": 1}


def test_only_rank_zero_writes(tmp_path: Path) -> None:
    other = RankZeroWriter(tmp_path / "m1.jsonl", tmp_path / "tb1", DistEnv(1, 2, 1))
    other.record({"x": 1})
    other.scalars(0, {"a": 1.0})
    other.close()
    assert not (tmp_path / "m1.jsonl").exists() and not (tmp_path / "tb1").exists()
    main = RankZeroWriter(tmp_path / "m0.jsonl", None, DistEnv(0, 2, 0))
    main.record({"x": 1})
    assert json.loads((tmp_path / "m0.jsonl").read_text()) == {"x": 1}


WORKER = """
import json, sys
from pathlib import Path
import torch
import footreid.train.runner as runner
from footreid.core.config import load_config

config_path, out = sys.argv[1], Path(sys.argv[2])
real_epoch, seen = runner.train_one_epoch, []

def recording_epoch(net, loader, *args, **kwargs):
    def batches():
        for images, labels, indices in loader:
            seen.append(indices.tolist())
            yield images, labels, indices
    class Loader:
        def __len__(self):
            return len(loader)
        def __iter__(self):
            return batches()
    return real_epoch(net, Loader(), *args, **kwargs)

real_finish = runner._finish

def dumping_finish(run, state):
    rank = run.env.rank
    torch.save(state.model.state_dict(), out / f"rank{rank}.pt")
    record = {"batches": seen, "world": run.env.world_size}
    (out / f"rank{rank}.json").write_text(json.dumps(record))
    real_finish(run, state)

runner.train_one_epoch = recording_epoch
runner._finish = dumping_finish
runner.fit(load_config(config_path))
import torch.distributed as dist
(out / f"rank{torch.distributed.get_rank() if dist.is_initialized() else 'x'}.left").touch()
"""


@pytest.mark.slow
def test_two_process_ddp_gloo_keeps_ranks_identical(make_config, tmp_path: Path) -> None:
    config = make_config(
        "stages=[{name: s, fraction: 1.0, epochs: 1, lr: 0.01, input_size: [64, 32]}]",
        "data.sampler=pk",
    )
    recipe = save_config(config, tmp_path / "recipe.yaml")
    worker = tmp_path / "worker.py"
    worker.write_text(WORKER)
    out = tmp_path / "out"
    out.mkdir()
    command = [
        sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc_per_node=2",
        str(worker), str(recipe), str(out),
    ]  # fmt: skip
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    done = subprocess.run(command, env=env, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-3000:]

    states = [torch.load(out / f"rank{r}.pt", weights_only=True) for r in (0, 1)]
    assert states[0].keys() == states[1].keys()
    differ = [k for k in states[0] if not torch.equal(states[0][k], states[1][k])]
    assert not differ  # parameters by DDP, BatchNorm statistics averaged at the epoch's end
    ckpt = torch.load(config.run_dir / "checkpoints" / "last.pt", weights_only=True)
    assert all(torch.equal(ckpt["model"][k], states[0][k]) for k in states[0])
    torch.manual_seed(mix_seed(0, 0xC1A5))  # the run's initialisation seed
    assert not torch.equal(states[0]["conv1.conv.weight"], _initial_conv(ckpt["num_classes"]))

    # each rank drew its own whole P x K batches: batches r, r + 2, ... of one global plan
    ranks = [json.loads((out / f"rank{r}.json").read_text()) for r in (0, 1)]
    assert [r["world"] for r in ranks] == [2, 2]
    samples = read_train(config.data.root)
    plan = build_batch_sampler(samples, config.data, mix_seed(0, 0), 1, 0)
    plan.set_epoch(0)
    batches = list(plan)
    assert ranks[0]["batches"] == batches[0:4:2]
    assert ranks[1]["batches"] == batches[1:4:2]
    assert not set(sum(ranks[0]["batches"], [])) & set(sum(ranks[1]["batches"], []))
    metrics = (config.run_dir / "metrics.jsonl").read_text().splitlines()
    assert len(metrics) == 1  # rank 1 wrote nothing
    assert [p.name for p in out.glob("*.left")] == ["rankx.left"]  # fit left the group


def _initial_conv(num_classes: int) -> torch.Tensor:
    from footreid.models import create_model

    model = create_model("osnet_x0_25", num_classes=num_classes, pretrained="none")
    return model.state_dict()["conv1.conv.weight"]
