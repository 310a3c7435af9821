"""The records a training run is made of: its fixed context, its changing state, its result.

:class:`TrainPlan` holds what the config alone resolves (built once, before any data);
:class:`RunContext` holds what one process decides once (config, place in the job,
device, precision, run folder, writer); :class:`TrainState` what changes from epoch to
epoch and what ``last.pt`` saves to resume (weights, classifier identities, counters,
the best validation metric); :class:`StageParts` what the epochs of one stage share.
The functions of :mod:`.runner` take and update these records; nothing else holds state.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch
from torch import nn
from torch.utils.data import DataLoader

from footreid.core.config import RunConfig
from footreid.core.layout import RunLayout
from footreid.core.records import Sample
from footreid.core.size import ImageSize
from footreid.models.spec import ModelSpec, ReidModel
from footreid.train.distributed import DistEnv, RankZeroWriter
from footreid.train.objectives import Objective
from footreid.train.optim import LRSchedule
from footreid.train.stages import Stage


@dataclass(frozen=True)
class TrainPlan:
    """What the config alone resolves, built once by ``check_run_config`` and passed down.

    Attributes:
        spec: the model's :class:`~footreid.models.spec.ModelSpec` (with its options).
        objective: the loss terms and weights (:func:`~.objectives.build_objective`).
        stages: the resolved stage plan (:func:`~.stages.plan_stages`).
    """

    spec: ModelSpec
    objective: Objective
    stages: tuple[Stage, ...]


@dataclass(frozen=True)
class RunContext:
    """What one process of a run fixes before the first step.

    Attributes:
        config: the resolved run config; config_dict: its plain form (saved in checkpoints).
        env: this process's place in the job (rank, world size).
        device: where the model runs; precision: ``fp32``, ``bf16`` or ``fp16`` (resolved).
        layout: the run folder; writer: metrics.jsonl and TensorBoard (rank 0).
        resume_from: the ``last.pt`` being resumed (its optimizer state is restored at
            its stage), or None.
        joined_group: ``fit`` joined the process group, so it leaves it at the end.
    """

    config: RunConfig
    config_dict: dict[str, Any]
    env: DistEnv
    device: torch.device
    precision: str
    layout: RunLayout
    writer: RankZeroWriter
    resume_from: dict[str, Any] | None = None
    joined_group: bool = False


@dataclass
class TrainState:
    """What changes while a run trains, and what ``last.pt`` saves to resume it.

    Attributes:
        model: the unwrapped model, on the run's device.
        signature: class signature of its classifier rows ("" without a classifier).
        stage_index, epoch: where training stands: epochs completed in stage
            ``stage_index`` (a resumed run starts there).
        global_step, global_epoch: steps and epochs done over the whole run.
        best: ``{"metric", "value", "global_epoch"}`` of the best validation so far.
        history: one record per epoch trained by this call (the metrics.jsonl lines).
    """

    model: ReidModel
    signature: str
    stage_index: int = 0
    epoch: int = 0
    global_step: int = 0
    global_epoch: int = 0
    best: dict[str, Any] = field(default_factory=lambda: {"metric": None, "value": None})
    history: list[dict[str, Any]] = field(default_factory=list)


@dataclass
class StageParts:
    """What the epochs of one stage share.

    Attributes:
        stage: the resolved stage; samples: its training crops (labels 0..C-1).
        net: the model as trained (DDP-wrapped with several processes).
        optimizer, schedule, scaler: the stage's optimiser, rate schedule and fp16 scaler.
        batches: the batch sampler (``set_epoch`` before each epoch).
        loaders: one DataLoader per input size, built when a size is first used.
    """

    stage: Stage
    samples: list[Sample]
    net: nn.Module
    optimizer: torch.optim.Optimizer
    schedule: LRSchedule
    scaler: torch.amp.GradScaler | None
    batches: Any
    loaders: dict[ImageSize, DataLoader] = field(default_factory=dict)


@dataclass
class FitResult:
    """What ``fit`` leaves behind.

    Attributes:
        run_dir: the run folder (config.yaml, metrics.jsonl, checkpoints/, tb/).
        last, best: the ``last.pt`` and ``best.pt`` checkpoints.
        best_metric, best_value: the validation metric that chose ``best.pt`` and its
            value (None without validation: then ``best.pt`` is the last epoch).
        history: one record per epoch trained by this call (the metrics.jsonl lines).
    """

    run_dir: Path
    last: Path
    best: Path
    best_metric: str | None
    best_value: float | None
    history: list[dict[str, Any]]
