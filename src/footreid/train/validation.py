"""Validation during training: the callback's type, when it runs, and what becomes best.pt.

Validation is a callback (:data:`ValidateFn`) built by the caller --
``footreid.experiment.training.build_validator`` embeds and scores ``val.split`` -- so
``train`` never imports ``embed`` or ``evaluate``. Choosing the best checkpoint on the
split that will be reported inflates the reported result (the choice is fitted to it),
so :func:`check_validation` refuses ``val.split == val.report_split`` unless the config
says so explicitly.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

import torch
from torch import nn

from footreid.core.config import ValConfig
from footreid.core.errors import ConfigError, TrainingError
from footreid.train.distributed import DistEnv, broadcast


@dataclass(frozen=True)
class ValContext:
    """Where training stands when the validation callback runs.

    ``precision`` is the run's resolved precision (``fp32``, ``bf16`` or ``fp16``): the
    callback embeds with it, so validation measures the model as training runs it.
    """

    stage_index: int
    stage: str
    epoch: int
    global_epoch: int
    input_size: tuple[int, int]
    device: torch.device
    precision: str = "fp32"


ValidateFn = Callable[[nn.Module, ValContext], Mapping[str, float]]
"""``validate(model, context) -> {metric: value}``; the model is unwrapped and in eval
mode, and must be embedded at ``context.input_size``."""


def check_validation(val: ValConfig) -> None:
    """Refuse to choose checkpoints on the split that will be reported.

    Raises:
        ConfigError: ``val.split == val.report_split`` without ``val.allow_report_split``.
    """
    if val.every < 0:
        raise ConfigError(f"val.every: epochs between validations, >= 0, got {val.every}")
    if val.every and val.split == val.report_split and not val.allow_report_split:
        raise ConfigError(
            f"val.split '{val.split}' is also val.report_split: choosing the best checkpoint "
            "on the split you report inflates the result; validate on another split "
            "(val.split=valid) or set val.allow_report_split=true"
        )


def is_due(val: ValConfig, epoch: int, epochs: int) -> bool:
    """True when epoch ``epoch`` (0-based) of a stage of ``epochs`` is validated."""
    return bool(val.every) and ((epoch + 1) % val.every == 0 or epoch + 1 == epochs)


def run_validation(
    validate: ValidateFn, model: nn.Module, context: ValContext, metric: str, env: DistEnv
) -> dict[str, float]:
    """The callback's metrics, computed on rank 0 and broadcast to every rank.

    Raises:
        TrainingError: the callback did not return ``metric``.
    """
    metrics = None
    if env.is_main:
        model.eval()
        with torch.no_grad():
            metrics = {k: float(v) for k, v in validate(model, context).items()}
        model.train()
        if metric not in metrics:
            raise TrainingError(
                f"the validation callback returned {sorted(metrics)}, not val.metric '{metric}'"
            )
    return broadcast(metrics, env)


def update_best(
    best: dict[str, Any], metrics: Mapping[str, float] | None, metric: str, global_epoch: int
) -> tuple[dict[str, Any], bool]:
    """The best record after this epoch, and whether this epoch becomes ``best.pt``.

    Args:
        best: ``{"metric", "value", ...}`` so far.
        metrics: this epoch's validation (None: not validated).
        metric: ``val.metric`` (higher is better).
        global_epoch: this epoch's number over the whole run.
    """
    if metrics is None:
        return best, False
    value = metrics[metric]
    if best.get("value") is None or value > best["value"]:
        return {"metric": metric, "value": value, "global_epoch": global_epoch}, True
    return best, False
