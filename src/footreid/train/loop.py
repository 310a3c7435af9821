"""One epoch of training: ``train_one_epoch`` and the statistics it returns.

The steps of an epoch: the learning rate from the schedule, the forward pass under
autocast (the run's resolved precision, :func:`footreid.core.hardware.autocast`), the
objective, a stop on a non-finite loss (on every rank at once, before the step can
spoil the weights), backward, clipping, the optimiser step, running means, and the one
progress display of :mod:`footreid.core.log` with loss, accuracy and images/s.
``footreid.train.runner.fit`` calls it for every epoch of the plan.
"""

from __future__ import annotations

import itertools
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import torch
from torch import nn

from footreid.core.errors import TrainingError
from footreid.core.hardware import autocast
from footreid.core.log import Progress
from footreid.train.distributed import DistEnv, RankZeroWriter, all_true
from footreid.train.objectives import Objective
from footreid.train.optim import LRSchedule, clip_gradients


@dataclass(frozen=True)
class StepOptions:
    """How ``train_one_epoch`` runs a step.

    Attributes:
        device: where the batches go. precision: ``fp32``, ``bf16`` or ``fp16`` autocast
            (resolved: :func:`footreid.core.hardware.resolve_precision`).
        channels_last: feed NHWC tensors (faster convolutions on recent CPUs and GPUs).
        grad_clip: max global gradient norm (0: off). max_steps: 0 for the whole epoch.
        log_every: steps between TensorBoard points / log lines. env: the DDP place.
    """

    device: torch.device = torch.device("cpu")
    precision: str = "fp32"
    channels_last: bool = False
    grad_clip: float = 0.0
    max_steps: int = 0
    log_every: int = 20
    env: DistEnv = field(default_factory=DistEnv)


@dataclass(frozen=True)
class EpochLog:
    """Where an epoch reports.

    Attributes:
        description: the progress label ("s1 2/60 256x128"), also in error messages.
        writer: TensorBoard scalars every ``log_every`` steps (rank 0), or None.
        first_step: steps done before this epoch (the x axis of TensorBoard).
    """

    description: str = "train"
    writer: RankZeroWriter | None = None
    first_step: int = 0


@dataclass
class EpochStats:
    """Means over one epoch's steps (this rank's batches)."""

    loss: float
    parts: dict[str, float]
    accuracy: float | None
    images: int
    seconds: float
    steps: int
    lr: float

    @property
    def images_per_s(self) -> float:
        """Training throughput of this rank."""
        return self.images / max(self.seconds, 1e-9)

    def as_dict(self) -> dict[str, Any]:
        """Flat JSON-ready record."""
        return {
            "loss": self.loss,
            **{f"loss_{k}": v for k, v in self.parts.items()},
            "accuracy": self.accuracy,
            "images": self.images,
            "seconds": round(self.seconds, 3),
            "images_per_s": round(self.images_per_s, 2),
            "lr": self.lr,
        }


class _Meter:
    """Running sums of one epoch."""

    def __init__(self) -> None:
        self.loss = 0.0
        self.parts: dict[str, float] = {}
        self.correct = self.labelled = self.images = self.steps = 0
        self.start = time.perf_counter()

    def add(
        self, loss: torch.Tensor, parts: dict[str, torch.Tensor], out: Any, labels: torch.Tensor
    ) -> None:
        self.steps += 1
        self.images += len(labels)
        self.loss += float(loss)
        for name, value in parts.items():
            self.parts[name] = self.parts.get(name, 0.0) + float(value)
        logits = out.logits
        if logits is not None:
            self.correct += int((logits.argmax(1) == labels).sum())
            self.labelled += len(labels)

    @property
    def accuracy(self) -> float | None:
        return self.correct / self.labelled if self.labelled else None

    def info(self) -> str:
        """``loss 1.2345 acc 0.500 123.4 img/s``: the progress text."""
        elapsed = max(time.perf_counter() - self.start, 1e-9)
        acc = f" acc {self.accuracy:.3f}" if self.accuracy is not None else ""
        return f"loss {self.loss / max(self.steps, 1):.4f}{acc} {self.images / elapsed:.1f} img/s"

    def stats(self, lr: float) -> EpochStats:
        n, seconds = max(self.steps, 1), time.perf_counter() - self.start
        parts = {k: v / n for k, v in self.parts.items()}
        return EpochStats(self.loss / n, parts, self.accuracy, self.images, seconds, self.steps, lr)


def _batches(loader: Any, limit: int) -> Iterator[tuple[int, Any]]:
    """The first ``limit`` batches, numbered; never draws (decodes) one more."""
    return enumerate(itertools.islice(loader, limit))


def train_one_epoch(
    model: nn.Module,
    loader: Any,
    objective: Objective,
    optimizer: torch.optim.Optimizer,
    schedule: LRSchedule,
    epoch: int,
    opts: StepOptions,
    scaler: torch.amp.GradScaler | None = None,
    log: EpochLog = EpochLog(),
) -> EpochStats:
    """One pass over ``loader``'s ``(images, labels, indices)`` batches.

    Args:
        model: returns a ReidOutput in train mode (possibly DDP-wrapped).
        loader: yields (B, 3, H, W) float32, (B,) int64 labels, (B,) int64 indices.
        objective: loss terms; optimizer, schedule: the stage's (rate set every step).
        epoch: epoch within the stage (the schedule's progress is epoch + step / steps).
        opts: device, precision, clipping, limits; scaler: GradScaler for fp16.
        log: progress label, TensorBoard writer and step offset.

    Raises:
        TrainingError: the loss became NaN or infinite (on any rank).
    """
    model.train()
    total = len(loader) if not opts.max_steps else min(len(loader), opts.max_steps)
    meter, lr = _Meter(), 0.0
    with Progress(log.description, total, opts.log_every) as bar:
        for step, (images, labels, _) in _batches(loader, total):
            lr = schedule.apply(optimizer, epoch + step / max(total, 1))
            loss, parts, out, labels = _forward(model, objective, images, labels, opts)
            if not all_true(bool(torch.isfinite(loss)), opts.env, opts.device):
                shown = ", ".join(f"{k}={float(v):.4g}" for k, v in parts.items())
                raise TrainingError(
                    f"{log.description}: non-finite loss at step {step + 1}/{total} ({shown}, "
                    f"lr {lr:.3g}); the run stopped, its last checkpoint is the last good one"
                )
            _backward_step(loss, model, optimizer, scaler, opts.grad_clip)
            meter.add(loss.detach(), parts, out, labels)
            bar.update(step + 1, meter.info())
            if log.writer is not None and step % max(opts.log_every, 1) == 0:
                scalars = {"train/loss": float(loss.detach()), "train/lr": lr}
                scalars |= {f"train/{k}": float(v) for k, v in parts.items()}
                log.writer.scalars(log.first_step + step, scalars)
    return meter.stats(lr)


def _forward(
    model: nn.Module,
    objective: Objective,
    images: torch.Tensor,
    labels: torch.Tensor,
    opts: StepOptions,
) -> tuple[torch.Tensor, dict[str, torch.Tensor], Any, torch.Tensor]:
    """Loss, its named parts, the model output and the labels, on ``opts.device``."""
    images = images.to(opts.device, non_blocking=True)
    labels = labels.to(opts.device, non_blocking=True)
    if opts.channels_last:
        images = images.contiguous(memory_format=torch.channels_last)
    with autocast(opts.device, opts.precision):
        out = model(images)
        loss, parts = objective(out, labels)
    return loss, parts, out, labels


def _backward_step(
    loss: torch.Tensor,
    model: nn.Module,
    optimizer: torch.optim.Optimizer,
    scaler: torch.amp.GradScaler | None,
    grad_clip: float,
) -> None:
    optimizer.zero_grad(set_to_none=True)
    if scaler is None:
        loss.backward()
        clip_gradients(model.parameters(), grad_clip)
        optimizer.step()
        return
    scaler.scale(loss).backward()
    if grad_clip > 0:
        scaler.unscale_(optimizer)
        clip_gradients(model.parameters(), grad_clip)
    scaler.step(optimizer)
    scaler.update()
