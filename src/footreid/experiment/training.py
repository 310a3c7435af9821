"""Training composed with validation, and runs reused across commands.

The train layer may not import embed or evaluate, so validation during training is a
callback built here, where the three meet: :func:`train_with_validation` is what
``footreid train`` runs, and what the quickstart and the experiment runner call to
train their recipes (:func:`train_or_reuse`: a finished run is reused, an interrupted
one resumed, a run trained with another config refused).
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from footreid.core.config import RunConfig, load_config
from footreid.core.errors import ConfigError, TrainingError
from footreid.core.layout import RunLayout
from footreid.core.log import get_logger
from footreid.core.schema import to_dict
from footreid.train.checkpoint import config_differences
from footreid.train.runner import fit
from footreid.train.setup import check_run_config
from footreid.train.state import FitResult
from footreid.train.validation import ValContext, ValidateFn

log = get_logger(__name__)


def build_validator(config: RunConfig) -> ValidateFn:
    """A validation callback: per-action mAP / Rank-1 of ``config.val.split``.

    The split is read once (``val.fraction`` < 1 keeps that share of its actions, drawn
    with the run seed); every call embeds its query and gallery crops with the model
    at the epoch's input size (cosine distance on L2-normalised embeddings, flip TTA per
    ``val.flip_tta``, the run's resolved precision) and scores them with the official
    per-action protocol.

    Returns:
        ``validate(model, context) -> {"mAP": float, "rank1": float}`` (fractions in [0, 1]).
    """
    from footreid.data.soccernet import read_eval_split, subset_by_actions
    from footreid.embed import EmbedModel, EmbedOptions, features_from_samples
    from footreid.evaluate.distances import feature_distances
    from footreid.evaluate.metrics import evaluate_distances

    val = config.val
    eval_set = read_eval_split(config.data.root, val.split, skip_bad=config.data.skip_bad)
    if not eval_set.labelled:
        raise ConfigError(f"val.split: '{val.split}' has no labels; validate on valid or test")
    query = eval_set.query
    if val.fraction < 1.0:
        query = subset_by_actions(query, val.fraction, "random", seed=config.train.seed)
    actions = {s.action_idx for s in query}
    samples = [*query, *(s for s in eval_set.gallery if s.action_idx in actions)]

    def validate(model: Any, context: ValContext) -> dict[str, float]:
        embed_model = EmbedModel.of(model, context.input_size)
        options = EmbedOptions(
            flip_tta=val.flip_tta,
            batch_size=val.batch_size,
            num_workers=config.data.num_workers,
            device=str(context.device),
            precision=context.precision,
            channels_last=config.train.channels_last,  # the model's own memory format
        )
        features = features_from_samples(embed_model, samples, options)
        result = evaluate_distances(feature_distances(features, "cosine"))
        return {"mAP": float(result.mAP), "rank1": float(result.rank1)}

    return validate


def train_with_validation(
    config: RunConfig, resume: bool = False, validate: bool = True
) -> FitResult:
    """``fit`` with validation on ``val.split`` every ``val.every`` epochs.

    Args:
        config: the resolved run config.
        resume: continue the run's ``checkpoints/last.pt``.
        validate: False (or ``val.every`` 0) trains without validation; ``best.pt`` is
            then the last epoch.
    """
    plan = check_run_config(config)  # before the validation split is read
    validator = build_validator(config) if validate and config.val.every else None
    return fit(config, validator, resume=resume, plan=plan)


@dataclass
class TrainedRun:
    """A run of :func:`train_or_reuse` and what it took.

    Attributes:
        config: the run's config (the run lives in ``config.run_dir``).
        checkpoint: its ``checkpoints/best.pt``.
        status: ``trained``, ``resumed`` or ``reused``.
        seconds: wall time of this call.
    """

    config: RunConfig
    checkpoint: Path
    status: str
    seconds: float


def is_finished(config: RunConfig) -> bool:
    """True when the run folder holds the checkpoint of the config's last stage."""
    last = len(config.stages) - 1
    layout = RunLayout(config.run_dir)
    return layout.stage_checkpoint(last, config.stages[last].name).is_file()


def check_same_config(config: RunConfig) -> None:
    """Refuse to reuse a run trained with another config (a changed recipe)."""
    layout = RunLayout(config.run_dir)
    if not layout.config.is_file() or not layout.last.is_file():
        return  # nothing trained yet: the run starts afresh
    saved = to_dict(load_config(layout.config))
    diff = config_differences(saved, to_dict(config))
    if diff:
        raise TrainingError(
            f"{config.run_dir} was trained with another config ({', '.join(diff[:5])} "
            "differ); delete that folder to retrain it, or choose another output folder"
        )


def train_or_reuse(config: RunConfig, validate: bool = True) -> TrainedRun:
    """Train ``config`` unless its run is finished; resume it when it was interrupted."""
    start, layout = time.perf_counter(), RunLayout(config.run_dir)
    check_same_config(config)
    if is_finished(config):
        status = "reused"
        log.info("%s: finished run reused", config.run_dir)
    else:
        resume = layout.last.is_file()
        status = "resumed" if resume else "trained"
        log.info("%s: %s %s", config.run_dir, "resuming" if resume else "training", config.name)
        train_with_validation(config, resume=resume, validate=validate)
    return TrainedRun(config, layout.best, status, time.perf_counter() - start)
