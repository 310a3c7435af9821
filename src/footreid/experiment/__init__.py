"""Experiments: checkpoints -> cached features -> the whole results table of a run.

``run_experiment(config)`` is the one call behind ``footreid experiment --config``.
"""

from footreid.experiment.config import (
    DatasetSection,
    ExperimentConfig,
    MethodsSection,
    ModelSection,
)
from footreid.experiment.runner import load_experiment, run_experiment

__all__ = [
    "DatasetSection",
    "ExperimentConfig",
    "MethodsSection",
    "ModelSection",
    "load_experiment",
    "run_experiment",
]
