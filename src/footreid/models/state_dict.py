"""State dicts from weights files, loaded strictly: only named head keys may differ.

:func:`read_state_dict` reads ``.safetensors`` or torch files (tensors only, no code) and
unwraps the usual containers; :func:`load_state_dict_strict` loads every key or raises a
:class:`WeightsError` that lists what is missing, unexpected or of another shape, except
under the prefixes the caller allows (a classifier sized by another training set).
"""

from __future__ import annotations

import pickle
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

import torch
from torch import nn

from footreid.core.errors import WeightsError
from footreid.core.log import get_logger

log = get_logger(__name__)

WRAPPER_PREFIXES = ("module.", "_orig_mod.")
"""Prefixes added by DataParallel/DDP and torch.compile, stripped on reading."""


def read_state_dict(path: str | Path) -> dict[str, torch.Tensor]:
    """Read a state dict from ``.safetensors`` or a torch file (tensors only, no code).

    Unwraps ``{"state_dict": ...}`` (torchreid training checkpoints) and
    ``{"model": ...}`` (footreid checkpoints), and strips ``module.``/``_orig_mod.``.
    """
    path = Path(path)
    if path.suffix == ".safetensors":
        from safetensors.torch import load_file

        try:
            obj: object = load_file(str(path), device="cpu")
        except Exception as exc:  # SafetensorError, or OSError and others on damaged headers
            raise WeightsError(
                f"{path}: cannot be read as a safetensors file ({exc}); the file is damaged: "
                "download or export it again"
            ) from None
    else:
        try:
            obj = torch.load(path, map_location="cpu", weights_only=True)
        except (pickle.UnpicklingError, RuntimeError, EOFError, OSError) as exc:
            reason = (str(exc) or type(exc).__name__).splitlines()[0][:200]  # EOFError: no text
            raise WeightsError(
                f"{path}: cannot be read as a weights file ({reason}); "
                "re-save it as a plain state dict with torch.save(model.state_dict(), path)"
            ) from exc
    return strip_prefixes(unwrap_state_dict(obj, path))


def unwrap_state_dict(obj: object, path: str | Path) -> dict[str, torch.Tensor]:
    """The ``name -> tensor`` mapping inside a checkpoint object."""
    if isinstance(obj, Mapping):
        for key in ("state_dict", "model"):
            inner = obj.get(key)
            if isinstance(inner, Mapping):
                obj = inner
                break
    if not isinstance(obj, Mapping) or not all(
        isinstance(k, str) and isinstance(v, torch.Tensor) for k, v in obj.items()
    ):
        raise WeightsError(
            f"{path}: expected a state dict (name -> tensor), or a dict holding one under "
            "'state_dict' or 'model'"
        )
    return dict(obj)


def strip_prefixes(state_dict: Mapping[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    """Remove the DDP (``module.``) and torch.compile (``_orig_mod.``) key prefixes."""
    out = {}
    for key, value in state_dict.items():
        changed = True
        while changed:
            changed = False
            for prefix in WRAPPER_PREFIXES:
                if key.startswith(prefix):
                    key, changed = key[len(prefix) :], True
        out[key] = value
    return out


@dataclass
class LoadReport:
    """What a strict load did: keys loaded, kept from the model, dropped from the file."""

    loaded: int
    kept: list[str] = field(default_factory=list)
    dropped: list[str] = field(default_factory=list)


@dataclass
class _KeyDiff:
    """How a file's state dict differs from a module's."""

    missing: list[str]
    unexpected: list[str]
    mismatched: list[str]

    @classmethod
    def of(
        cls, state_dict: Mapping[str, torch.Tensor], target: Mapping[str, torch.Tensor]
    ) -> _KeyDiff:
        return cls(
            missing=[k for k in target if k not in state_dict],
            unexpected=[k for k in state_dict if k not in target],
            mismatched=[
                k for k in state_dict if k in target and state_dict[k].shape != target[k].shape
            ],
        )

    def outside(self, allowed: tuple[str, ...]) -> list[str]:
        """The differing keys that are not under an ``allowed`` prefix."""
        keys = (*self.missing, *self.unexpected, *self.mismatched)
        return [k for k in keys if not k.startswith(allowed)]


def load_state_dict_strict(
    module: nn.Module,
    state_dict: Mapping[str, torch.Tensor],
    allowed_prefixes: tuple[str, ...],
    source: str,
    check_only: bool = False,
) -> LoadReport:
    """Load ``state_dict`` into ``module``; only keys under ``allowed_prefixes`` may differ.

    Args:
        module: the model (or backbone) to fill.
        state_dict: tensors by key name, wrapper prefixes already stripped.
        allowed_prefixes: key prefixes (the classifier) that may be missing, unexpected or
            of another shape; the model keeps its own initialisation for them.
        source: file or description named in messages.
        check_only: compare keys and shapes only (``module`` may live on "meta").

    Returns:
        A :class:`LoadReport`; raises :class:`WeightsError` listing every other mismatch.
    """
    target = module.state_dict()
    diff = _KeyDiff.of(state_dict, target)
    if diff.outside(allowed_prefixes):
        raise WeightsError(
            _mismatch_message(source, module, diff, state_dict, target, allowed_prefixes)
        )
    usable = {k: v for k, v in state_dict.items() if k in target and k not in diff.mismatched}
    if check_only:
        return LoadReport(loaded=len(usable))
    result = module.load_state_dict(usable, strict=False)
    assert not result.unexpected_keys and all(
        k.startswith(allowed_prefixes) for k in result.missing_keys
    )
    report = LoadReport(
        loaded=len(usable),
        kept=sorted({*diff.missing, *diff.mismatched}),
        dropped=sorted({*diff.unexpected, *diff.mismatched}),
    )
    log.info(
        "loaded %d tensors from %s; re-initialised: %s; dropped from file: %s",
        report.loaded,
        source,
        ", ".join(report.kept) or "none",
        ", ".join(report.dropped) or "none",
    )
    return report


def _mismatch_message(
    source: str,
    module: nn.Module,
    diff: _KeyDiff,
    state_dict: Mapping[str, torch.Tensor],
    target: Mapping[str, torch.Tensor],
    allowed: tuple[str, ...],
) -> str:
    def sample(keys: list[str]) -> str:
        shown = ", ".join(keys[:5])
        return f"{shown}, ... ({len(keys)} in all)" if len(keys) > 5 else shown

    parts = []
    if diff.missing:
        parts.append(f"{len(diff.missing)} missing ({sample(diff.missing)})")
    if diff.unexpected:
        parts.append(f"{len(diff.unexpected)} unexpected ({sample(diff.unexpected)})")
    if diff.mismatched:
        shapes = [
            f"{k} {tuple(state_dict[k].shape)} vs {tuple(target[k].shape)}" for k in diff.mismatched
        ]
        parts.append(f"{len(diff.mismatched)} of another shape ({sample(shapes)})")
    allowed_text = ", ".join(allowed) or "none"
    return (
        f"{source}: weights do not match {type(module).__name__}: {'; '.join(parts)}. Only "
        f"keys under [{allowed_text}] may differ. Fix: pass weights of the same architecture "
        "(same model name and options), or --pretrained none to train from scratch"
    )
