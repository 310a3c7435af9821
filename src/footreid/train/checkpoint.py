"""Training checkpoints: written atomically every epoch, read back strictly to resume.

A checkpoint is a ``torch.save``'d dict of tensors and plain values (it loads with
``weights_only=True``). The keys ``model_name``, ``model_kwargs``, ``num_classes``,
``input_size`` ([H, W] the model last trained at), ``model`` and ``config`` are the
contract ``footreid.models.load_trained`` reads; the others let ``--resume`` continue
a killed run exactly: ``optimizer``, ``scaler``, ``sampler`` (seed and epoch), ``rng``,
``stage``/``stage_name``/``epoch`` (epochs completed in the stage), ``global_epoch``,
``global_step``, ``class_signature`` (which identities the classifier rows are) and
``best`` (the validation metric so far).

Run layout (``RunLayout.checkpoints``): ``last.pt`` (every epoch), ``best.pt`` (best
validation metric; weights and contract keys only) and ``stage<i>-<name>.pt`` (the
end of every stage).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import torch
from torch import nn

from footreid.core.errors import TrainingError
from footreid.core.io import atomic_path

FORMAT = "footreid-train"
VERSION = 1
LAST = "last.pt"
BEST = "best.pt"
CONTRACT_KEYS = ("model_name", "model_kwargs", "num_classes", "input_size", "model", "config")
STATE_KEYS = ("optimizer", "scaler", "sampler", "rng")
RESUME_IGNORED = (
    "data.num_workers",
    "train.device",
    "train.threads",
    "train.log_every",
    "train.tensorboard",
    "val.batch_size",
)
"""Config keys that may change between a run and its resumption (speed, not results)."""


def stage_file(index: int, name: str) -> str:
    """File name of the checkpoint written at the end of stage ``index``."""
    return f"stage{index}-{name}.pt"


def model_entries(model: nn.Module, input_size: tuple[int, int], config: dict[str, Any]) -> dict:
    """The contract keys of a checkpoint for ``model`` (unwrapped) at ``input_size``."""
    spec = model.spec
    return {
        "format": FORMAT,
        "version": VERSION,
        "model_name": str(model.model_name or spec.name),
        "model_kwargs": dict(model.model_kwargs),
        "num_classes": int(model.num_classes),
        "input_size": [int(input_size[0]), int(input_size[1])],
        "model_spec": spec.to_dict() | {"input_size": [int(input_size[0]), int(input_size[1])]},
        "model": {k: v.detach().cpu() for k, v in model.state_dict().items()},
        "config": config,
    }


def rng_state() -> dict[str, Any]:
    """The global torch RNG states (CPU, and CUDA when available)."""
    state: dict[str, Any] = {"torch": torch.get_rng_state()}
    if torch.cuda.is_available():
        state["cuda"] = torch.cuda.get_rng_state_all()
    return state


def restore_rng(state: dict[str, Any]) -> None:
    """Restore :func:`rng_state`."""
    torch.set_rng_state(state["torch"])
    if "cuda" in state and torch.cuda.is_available():
        torch.cuda.set_rng_state_all(state["cuda"])


def save_checkpoint(payload: dict[str, Any], path: Path) -> Path:
    """``torch.save`` to a temporary file beside ``path``, then move it into place."""
    missing = [k for k in CONTRACT_KEYS if k not in payload]
    assert not missing, f"checkpoint payload lacks {missing}"
    with atomic_path(path) as tmp:
        torch.save(payload, tmp)
    return path


def load_checkpoint(path: Path, map_location: str | torch.device = "cpu") -> dict[str, Any]:
    """Read a training checkpoint written by :func:`save_checkpoint`.

    Raises:
        TrainingError: missing, unreadable, or not a footreid training checkpoint.
    """
    if not path.is_file():
        raise TrainingError(f"{path}: checkpoint not found")
    try:
        ckpt = torch.load(path, map_location=map_location, weights_only=True)
    except Exception as exc:  # unpickling errors come in several types
        raise TrainingError(f"{path}: cannot read the checkpoint ({exc})") from exc
    if not isinstance(ckpt, dict) or ckpt.get("format") != FORMAT:
        raise TrainingError(f"{path}: not a footreid training checkpoint")
    if ckpt.get("version") != VERSION:
        raise TrainingError(f"{path}: checkpoint version {ckpt.get('version')}, need {VERSION}")
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
