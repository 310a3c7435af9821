"""Training checkpoints: written atomically every epoch, read back strictly to resume.

The keys and file names are :mod:`footreid.core.layout`'s: the contract keys
(:data:`~footreid.core.layout.CHECKPOINT_KEYS`, what ``footreid.models.load_trained``
reads) in every checkpoint; the resume state (:func:`resume_entries`: ``optimizer`` and
``scaler``) in ``last.pt`` only; and the progress entries (:func:`progress_entries`)
that let ``--resume`` continue a killed run exactly where its last completed epoch ended
(the granularity of resuming: an epoch cut short is trained again from its start).

``last.pt`` saves exactly what resuming restores: the weights (``build_state``), the
counters, and the stage's optimiser and fp16 scaler (:func:`restore_resume_state`). It
saves no sampler and no RNG state, because neither can differ from what the resumed run
recomputes: a batch sampler's plan is a pure function of (seed, epoch), both fixed by
the config (checked equal on resume) and the counters; every random draw of training is
seeded at its point of use from ``train.seed`` and the counters (torch's global RNG at
each epoch's start and before each classifier initialisation, the sampler's and each
augmentation's own ``torch.Generator``), and training draws nothing from Python's
``random`` or NumPy's global RNG. Files of earlier versions hold ``sampler`` and ``rng``
entries; they are ignored.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import torch
from torch import nn

from footreid.core.errors import TrainingError
from footreid.core.io import atomic_write
from footreid.core.layout import CHECKPOINT_FORMAT, CHECKPOINT_KEYS, CHECKPOINT_VERSION
from footreid.core.log import get_logger
from footreid.core.model_record import CHECKPOINT, ModelRecord
from footreid.core.size import ImageSize
from footreid.models.checkpoint import read_checkpoint
from footreid.train.state import StageParts, TrainState

log = get_logger(__name__)

RESUME_IGNORED = (
    "data.num_workers",
    "train.device",
    "train.threads",
    "train.log_every",
    "train.tensorboard",
    "val.batch_size",
)
"""Config keys that may change between a run and its resumption (speed, not results)."""


def model_entries(model: nn.Module, input_size: ImageSize, config: dict[str, Any]) -> dict:
    """The contract keys of a checkpoint for ``model`` (unwrapped) at ``input_size``.

    The model's name, options, input size and normalisation are its
    :class:`~footreid.core.model_record.ModelRecord`'s checkpoint entries.
    """
    record = ModelRecord.of(model, ImageSize(*input_size))
    return {
        "format": CHECKPOINT_FORMAT,
        "version": CHECKPOINT_VERSION,
        **record.to_record(CHECKPOINT),
        "num_classes": int(model.num_classes),
        "model": {k: v.detach().cpu() for k, v in model.state_dict().items()},
        "config": config,
    }


def progress_entries(state: TrainState, parts: StageParts, record: dict[str, Any]) -> dict:
    """Where the run stands after an epoch: stage, epochs done in it, counters, best.

    ``stage``/``stage_name``/``epoch`` (epochs completed in the stage), ``global_epoch``,
    ``global_step``, ``class_signature`` (which identities the classifier rows are),
    ``best`` (the validation metric so far) and ``metrics`` (the epoch's record).
    """
    return {
        "stage": parts.stage.index,
        "stage_name": parts.stage.name,
        "epoch": state.epoch,
        "global_epoch": state.global_epoch,
        "global_step": state.global_step,
        "class_signature": state.signature,
        "best": dict(state.best),
        "metrics": record,
    }


def resume_entries(parts: StageParts) -> dict[str, Any]:
    """The state only ``last.pt`` holds: the stage's optimiser and fp16 scaler states.

    :func:`restore_resume_state` reads back every entry; nothing else is saved (see the
    module's docstring for why the sampler and the RNGs need no entry).
    """
    return {
        "optimizer": parts.optimizer.state_dict(),
        "scaler": None if parts.scaler is None else parts.scaler.state_dict(),
    }


def restore_resume_state(parts: StageParts, ckpt: dict[str, Any]) -> None:
    """Load :func:`resume_entries` of ``ckpt`` into the stage it was saved in.

    Call it only when continuing that stage: a new stage starts a fresh optimiser and
    scaler, as in an uninterrupted run.
    """
    parts.optimizer.load_state_dict(ckpt["optimizer"])
    if parts.scaler is None:
        return
    if ckpt["scaler"] is None:  # train.precision auto resolved to fp16 only now
        log.warning("last.pt holds no fp16 loss scale; the resumed stage starts a new one")
        return
    parts.scaler.load_state_dict(ckpt["scaler"])


def save_checkpoint(payload: dict[str, Any], path: Path) -> Path:
    """``torch.save`` to a temporary file beside ``path``, then move it into place.

    Raises:
        OutputError: the disk is full or the folder read-only (the previous file stays).
    """
    missing = [k for k in CHECKPOINT_KEYS if k not in payload]
    assert not missing, f"checkpoint payload lacks {missing}"
    with atomic_write(path) as handle:  # a file object: a full disk reaches us as OSError
        torch.save(payload, handle)
    return path


def load_checkpoint(path: Path, map_location: str | torch.device = "cpu") -> dict[str, Any]:
    """Read a training checkpoint written by :func:`save_checkpoint`, to resume it.

    The reader is the models package's (:func:`~footreid.models.checkpoint.read_checkpoint`,
    which ``load_trained`` uses too); resuming also needs the ``format`` entry every
    checkpoint footreid training writes holds.

    Raises:
        TrainingError: missing, unreadable, or not a footreid training checkpoint.
    """
    ckpt = read_checkpoint(path, map_location, error=TrainingError).entries
    if "format" not in ckpt:
        raise TrainingError(f"{path}: not a footreid training checkpoint (no 'format' entry)")
    return ckpt


def load_model_state(model: nn.Module, ckpt: dict[str, Any], path: Path) -> None:
    """Load the checkpoint's weights into ``model`` strictly (every key, every shape)."""
    try:
        model.load_state_dict(ckpt["model"], strict=True)
    except RuntimeError as exc:
        raise TrainingError(
            f"{path}: the weights do not fit {ckpt.get('model_name')} as configured "
            f"({str(exc).splitlines()[0]}); resume with the run's own config.yaml"
        ) from None


def _flatten(tree: Any, prefix: str = "") -> dict[str, Any]:
    if isinstance(tree, dict):
        out: dict[str, Any] = {}
        for key, value in tree.items():
            out.update(_flatten(value, f"{prefix}{key}."))
        return out
    return {prefix[:-1]: tree}


def config_differences(saved: dict[str, Any], current: dict[str, Any]) -> list[str]:
    """Dotted keys whose values differ, except those in :data:`RESUME_IGNORED`."""
    a, b = _flatten(saved), _flatten(current)
    keys = sorted(set(a) | set(b))
    return [k for k in keys if a.get(k) != b.get(k) and not k.startswith(RESUME_IGNORED)]


def check_resume_config(saved: dict[str, Any], current: dict[str, Any], path: Path) -> None:
    """Refuse to resume a run with a config that would change its results."""
    diff = config_differences(saved, current)
    if diff:
        shown = ", ".join(
            f"{k} ({_flatten(saved).get(k)!r} -> {_flatten(current).get(k)!r})" for k in diff[:6]
        )
        raise TrainingError(
            f"{path}: cannot resume with a different config: {shown}; resume with the "
            "run's config.yaml, or start a new run (--set name=...)"
        )
