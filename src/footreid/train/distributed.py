"""Several processes through ``torchrun``: its environment, DDP, and rank-0 I/O.

As short as the minimal anchors (nanoGPT): read ``RANK``/``WORLD_SIZE``/``LOCAL_RANK``,
start the process group (NCCL on CUDA, gloo on CPU), wrap the model in
DistributedDataParallel, and let only rank 0 write files (checkpoints, metrics.jsonl,
TensorBoard events). Each rank draws its own batches (see ``footreid.data.samplers``);
DDP averages the gradients, so every rank holds the same weights after each step.
"""

from __future__ import annotations

import datetime
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch
import torch.distributed as dist
from torch import nn

from footreid.core.errors import ConfigError
from footreid.core.io import append_jsonl
from footreid.core.log import get_logger

log = get_logger(__name__)


@dataclass(frozen=True)
class DistEnv:
    """This process's place in the job (1 process, rank 0 without torchrun)."""

    rank: int = 0
    world_size: int = 1
    local_rank: int = 0

    @property
    def is_distributed(self) -> bool:
        """True with more than one process."""
        return self.world_size > 1

    @property
    def is_main(self) -> bool:
        """True on rank 0, the process that writes files."""
        return self.rank == 0


def read_env() -> DistEnv:
    """The torchrun environment (``RANK``, ``WORLD_SIZE``, ``LOCAL_RANK``)."""
    try:
        env = DistEnv(
            rank=int(os.environ.get("RANK", "0")),
            world_size=int(os.environ.get("WORLD_SIZE", "1")),
            local_rank=int(os.environ.get("LOCAL_RANK", "0")),
        )
    except ValueError as exc:
        raise ConfigError(f"torchrun environment: RANK/WORLD_SIZE/LOCAL_RANK ({exc})") from None
    if not 0 <= env.rank < env.world_size:
        raise ConfigError(f"torchrun environment: RANK {env.rank} not in 0..{env.world_size - 1}")
    return env


def init_distributed(env: DistEnv, device: torch.device, timeout_s: float = 1800) -> bool:
    """Join the process group (no-op for one process or when already joined).

    Returns:
        True when this call joined it: the caller then leaves it
        (:func:`shutdown_distributed`) when its training ends.
    """
    if not env.is_distributed or dist.is_initialized():
        return False
    backend = "nccl" if device.type == "cuda" else "gloo"
    if device.type == "cuda":
        torch.cuda.set_device(device)
    dist.init_process_group(
        backend=backend,
        rank=env.rank,
        world_size=env.world_size,
        timeout=datetime.timedelta(seconds=timeout_s),
    )
    log.info("rank %d/%d joined the %s process group", env.rank, env.world_size, backend)
    return True


def shutdown_distributed() -> None:
    """Leave the process group if this process joined one."""
    if dist.is_initialized():
        dist.destroy_process_group()


def wrap_model(model: nn.Module, env: DistEnv, device: torch.device) -> nn.Module:
    """DDP around ``model`` with more than one process, else the model itself."""
    if not env.is_distributed:
        return model
    from torch.nn.parallel import DistributedDataParallel

    ids = [device.index] if device.type == "cuda" else None
    # LoRA and a frozen BNNeck bias leave parameters without gradients
    return DistributedDataParallel(model, device_ids=ids, find_unused_parameters=False)


def unwrap_model(model: nn.Module) -> nn.Module:
    """The module inside a DDP wrapper (or the model itself)."""
    return model.module if hasattr(model, "module") else model


def sync_buffers(model: nn.Module, env: DistEnv) -> None:
    """Average floating-point buffers (BatchNorm running statistics) over the ranks.

    DDP keeps parameters equal on every rank, but each rank updates its BatchNorm
    running mean/variance with its own batches, so after an epoch the ranks disagree
    and a checkpoint from rank 0 would hold rank 0's statistics only. Averaging them at
    the end of every epoch (timm's ``distribute_bn``) leaves every rank the same state,
    computed from all ranks' batches; integer buffers (batch counters) come from rank 0.
    """
    if not (env.is_distributed and dist.is_initialized()):
        return
    for buffer in unwrap_model(model).buffers():
        if buffer.is_floating_point():
            dist.all_reduce(buffer, op=dist.ReduceOp.SUM)
            buffer.div_(env.world_size)
        else:
            dist.broadcast(buffer, src=0)


def barrier(env: DistEnv) -> None:
    """Wait for every rank (no-op for one process)."""
    if env.is_distributed and dist.is_initialized():
        dist.barrier()


def all_true(flag: bool, env: DistEnv, device: torch.device) -> bool:
    """True only if ``flag`` is true on every rank (used to stop all ranks together)."""
    if not (env.is_distributed and dist.is_initialized()):
        return flag
    value = torch.tensor([1 if flag else 0], device=device)
    dist.all_reduce(value, op=dist.ReduceOp.MIN)
    return bool(value.item())


def broadcast(obj: Any, env: DistEnv) -> Any:
    """Rank 0's ``obj`` on every rank (picklable objects)."""
    if not (env.is_distributed and dist.is_initialized()):
        return obj
    box = [obj]
    dist.broadcast_object_list(box, src=0)
    return box[0]


class RankZeroWriter:
    """metrics.jsonl and TensorBoard events, written by rank 0 only.

    Args:
        metrics_path: the run's ``metrics.jsonl`` (one JSON object per line).
        tb_dir: the run's ``tb/`` folder, or None for no TensorBoard events.
        env: the process's place in the job; other ranks write nothing.
    """

    def __init__(self, metrics_path: Path, tb_dir: Path | None, env: DistEnv) -> None:
        self.metrics_path = metrics_path
        self.enabled = env.is_main
        self._tb: Any = None
        if self.enabled and tb_dir is not None:
            from torch.utils.tensorboard import SummaryWriter  # lazy: loads tensorboard

            self._tb = SummaryWriter(log_dir=str(tb_dir))

    def scalars(self, step: int, values: dict[str, float]) -> None:
        """TensorBoard scalars at global ``step`` (keys like ``train/loss``)."""
        if self._tb is not None:
            for key, value in values.items():
                self._tb.add_scalar(key, value, step)

    def record(self, record: dict[str, Any]) -> None:
        """Append one line to metrics.jsonl."""
        if self.enabled:
            append_jsonl(self.metrics_path, record)

    def close(self) -> None:
        """Flush and close the TensorBoard writer."""
        if self._tb is not None:
            self._tb.close()
            self._tb = None
