"""Training: loss terms, optimisers, the stage plan, the loop, checkpoints and DDP.

``train_from_config(config)`` (or ``footreid train --config RECIPE``) is the one call;
``fit(config, validate)`` takes a validation callback built by the caller (train never
imports embed or evaluate). :mod:`.runner` composes the run from the plain functions of
:mod:`.setup`, :mod:`.loop`, :mod:`.validation` and :mod:`.checkpoint` over the records
of :mod:`.state`.
"""

from footreid.train.loop import EpochLog, EpochStats, StepOptions, train_one_epoch
from footreid.train.objectives import LOSSES, Objective, build_objective
from footreid.train.runner import fit, train_from_config
from footreid.train.stages import Stage, plan_stages
from footreid.train.state import FitResult, TrainPlan, TrainState
from footreid.train.terms import LossTerm, TermNeeds
from footreid.train.validation import ValContext, ValidateFn, check_validation

__all__ = [
    "LOSSES",
    "EpochLog",
    "EpochStats",
    "FitResult",
    "LossTerm",
    "Objective",
    "Stage",
    "StepOptions",
    "TermNeeds",
    "TrainPlan",
    "TrainState",
    "ValContext",
    "ValidateFn",
    "build_objective",
    "check_validation",
    "fit",
    "plan_stages",
    "train_from_config",
    "train_one_epoch",
]
