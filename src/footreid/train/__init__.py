"""Training: loss terms, optimisers, the stage plan, the loop, checkpoints and DDP.

``train_from_config(config)`` (or ``footreid train --config RECIPE``) is the one call;
``fit(config, validate)`` takes a validation callback built by the caller (train never
imports embed or evaluate).
"""

from footreid.train.loop import EpochStats, StepOptions, ValContext, ValidateFn, train_one_epoch
from footreid.train.objectives import LOSSES, Objective, build_objective
from footreid.train.runner import FitResult, fit, train_from_config
from footreid.train.stages import Stage, plan_stages

__all__ = [
    "LOSSES",
    "EpochStats",
    "FitResult",
    "Objective",
    "Stage",
    "StepOptions",
    "ValContext",
    "ValidateFn",
    "build_objective",
    "fit",
    "plan_stages",
    "train_from_config",
    "train_one_epoch",
]
