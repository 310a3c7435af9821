"""One epoch of training, mixed precision, progress, and the validation callback's type.

``train_one_epoch`` runs the steps: learning rate from the schedule, forward under
autocast, the objective, a stop on a non-finite loss (on every rank at once), backward,
clipping, the optimiser step, running means and a progress bar with loss, accuracy,
images/s and ETA. ``footreid.train.runner.fit`` calls it for every epoch of the plan.
Validation is a callback (:data:`ValidateFn`) built by the caller: train never imports
embed or evaluate.
"""

from __future__ import annotations

import contextlib
import itertools
import time
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any

import torch
from torch import nn

from footreid.core.config import ValConfig
from footreid.core.errors import ConfigError, TrainingError
from footreid.core.log import get_logger, progress_enabled
from footreid.train.distributed import DistEnv, RankZeroWriter, all_true
from footreid.train.objectives import Objective
from footreid.train.optim import LRSchedule, clip_gradients

log = get_logger(__name__)


@dataclass(frozen=True)
class ValContext:
    """Where training stands when the validation callback runs."""

    stage_index: int
    stage: str
    epoch: int
    global_epoch: int
    input_size: tuple[int, int]
    device: torch.device


ValidateFn = Callable[[nn.Module, ValContext], Mapping[str, float]]
"""``validate(model, context) -> {metric: value}``; the model is unwrapped and in eval
mode, and must be embedded at ``context.input_size``."""


@dataclass(frozen=True)
class StepOptions:
    """How ``train_one_epoch`` runs a step.

    Attributes:
        device: where the batches go. precision: ``fp32``, ``bf16`` or ``fp16`` autocast.
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


def resolve_precision(precision: str, device: torch.device) -> str:
    """``auto`` -> bf16 on a CUDA GPU that supports it, else fp32; fp16 needs CUDA."""
    if precision == "auto":
        cuda_bf16 = device.type == "cuda" and torch.cuda.is_bf16_supported()
        return "bf16" if cuda_bf16 else "fp32"
    if precision == "fp16" and device.type != "cuda":
        raise ConfigError("train.precision: fp16 autocast needs a CUDA device; use bf16 or fp32")
    if precision not in ("fp32", "bf16", "fp16"):
        raise ConfigError(f"train.precision: '{precision}'; choose auto, fp32, bf16, fp16")
    return precision


def autocast(device: torch.device, precision: str) -> contextlib.AbstractContextManager:
    """Autocast context for ``precision`` (a no-op for fp32)."""
    if precision == "fp32":
        return contextlib.nullcontext()
    dtype = torch.bfloat16 if precision == "bf16" else torch.float16
    return torch.autocast(device_type=device.type, dtype=dtype)


class _Meter:
    """Running sums of one epoch."""

    def __init__(self) -> None:
        self.loss = 0.0
        self.parts: dict[str, float] = {}
        self.correct = self.labelled = self.images = self.steps = 0

    def add(
        self, loss: torch.Tensor, parts: dict[str, torch.Tensor], out: Any, labels: torch.Tensor
    ) -> None:
        self.steps += 1
        self.images += len(labels)
        self.loss += float(loss)
        for name, value in parts.items():
            self.parts[name] = self.parts.get(name, 0.0) + float(value)
        logits = getattr(out, "logits", None)
        if logits is not None:
            self.correct += int((logits.argmax(1) == labels).sum())
            self.labelled += len(labels)

    @property
    def accuracy(self) -> float | None:
        return self.correct / self.labelled if self.labelled else None

    def stats(self, seconds: float, lr: float) -> EpochStats:
        n = max(self.steps, 1)
        parts = {k: v / n for k, v in self.parts.items()}
        return EpochStats(self.loss / n, parts, self.accuracy, self.images, seconds, self.steps, lr)


class _Progress:
    """A rich bar with loss, accuracy, images/s and ETA, or log lines when bars are off."""

    def __init__(self, description: str, total: int, log_every: int) -> None:
        self.description, self.total, self.log_every = description, total, max(log_every, 1)
        self.start = time.perf_counter()
        self._bar: Any = None

    def __enter__(self) -> _Progress:
        if progress_enabled():
            from rich.progress import (
                BarColumn,
                MofNCompleteColumn,
                Progress,
                TextColumn,
                TimeElapsedColumn,
                TimeRemainingColumn,
            )

            self._bar = Progress(
                TextColumn("[bold]{task.description}"),
                BarColumn(),
                MofNCompleteColumn(),
                TextColumn("{task.fields[info]}"),
                TimeElapsedColumn(),
                TimeRemainingColumn(),
                transient=True,
            )
            self._bar.__enter__()
            self._task = self._bar.add_task(self.description, total=self.total, info="")
        return self

    def update(self, step: int, meter: _Meter) -> None:
        elapsed = time.perf_counter() - self.start
        acc = f" acc {meter.accuracy:.3f}" if meter.accuracy is not None else ""
        info = (
            f"loss {meter.loss / max(meter.steps, 1):.4f}{acc} {meter.images / elapsed:.1f} img/s"
        )
        if self._bar is not None:
            self._bar.update(self._task, completed=step + 1, info=info)
        elif (step + 1) % self.log_every == 0 or step + 1 == self.total:
            eta = elapsed / (step + 1) * (self.total - step - 1)
            log.info("%s %d/%d %s, ETA %.0f s", self.description, step + 1, self.total, info, eta)

    def __exit__(self, *exc: object) -> None:
        if self._bar is not None:
            self._bar.__exit__(*exc)


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
    writer: RankZeroWriter | None = None,
    global_step: int = 0,
    description: str = "train",
) -> EpochStats:
    """One pass over ``loader``'s ``(images, labels, indices)`` batches.

    Args:
        model: returns a ReidOutput in train mode (possibly DDP-wrapped).
        loader: yields (B, 3, H, W) float32, (B,) int64 labels, (B,) int64 indices.
        objective: loss terms; optimizer, schedule: the stage's (rate set every step).
        epoch: epoch within the stage (the schedule's progress is epoch + step / steps).
        opts: device, precision, clipping, limits; scaler: GradScaler for fp16.
        writer: TensorBoard scalars every ``opts.log_every`` steps (rank 0).
        global_step: steps done before this epoch (x axis of TensorBoard).

    Raises:
        TrainingError: the loss became NaN or infinite (on any rank).
    """
    model.train()
    total = len(loader) if not opts.max_steps else min(len(loader), opts.max_steps)
    meter, lr, start = _Meter(), 0.0, time.perf_counter()
    with _Progress(description, total, opts.log_every) as bar:
        for step, (images, labels, _) in _batches(loader, total):
            lr = schedule.apply(optimizer, epoch + step / max(total, 1))
            images = images.to(opts.device, non_blocking=True)
            labels = labels.to(opts.device, non_blocking=True)
            if opts.channels_last:
                images = images.contiguous(memory_format=torch.channels_last)
            with autocast(opts.device, opts.precision):
                out = model(images)
                loss, parts = objective(out, labels)
            if not all_true(bool(torch.isfinite(loss)), opts.env, opts.device):
                shown = ", ".join(f"{k}={float(v):.4g}" for k, v in parts.items())
                raise TrainingError(
                    f"{description}: non-finite loss at step {step + 1}/{total} ({shown}, "
                    f"lr {lr:.3g}); the run stopped, its last checkpoint is the last good one"
                )
            _backward_step(loss, model, optimizer, scaler, opts.grad_clip)
            meter.add(loss.detach(), parts, out, labels)
            bar.update(step, meter)
            if writer is not None and step % max(opts.log_every, 1) == 0:
                scalars = {"train/loss": float(loss.detach()), "train/lr": lr}
                writer.scalars(
                    global_step + step, scalars | {f"train/{k}": float(v) for k, v in parts.items()}
                )
    return meter.stats(time.perf_counter() - start, lr)


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


def check_validation(val: ValConfig) -> None:
    """Refuse to choose checkpoints on the split that will be reported (the seed's mistake 3).

    Raises:
        ConfigError: ``val.split == val.report_split`` without ``val.allow_report_split``.
    """
    if val.every < 0:
        raise ConfigError(f"val.every: epochs between validations, >= 0, got {val.every}")
    if val.every and val.split == val.report_split and not val.allow_report_split:
        raise ConfigError(
            f"val.split '{val.split}' is also val.report_split: choosing the best checkpoint "
            "on the split you report inflates the result (the seed did this on test); "
            "validate on another split (val.split=valid) or set val.allow_report_split=true"
        )
