"""Optimisers (Adam, AdamW, SGD), the learning-rate schedule and gradient clipping.

The schedule is a pure function of training progress in epochs (fractional within an
epoch) and is applied before every step: linear warm-up from ``warmup_start x lr``,
then constant, step decay (x ``gamma`` every ``step_size`` epochs, the reference
OSNet-AIN recipe) or cosine decay to ``min_lr_ratio x lr`` (the reference DINOv2 recipe;
``docs/protocol.md``). Being a function of progress, it needs no state of its own to
resume.
"""

from __future__ import annotations

import math
from collections.abc import Iterable

import torch
from torch import nn

from footreid.core.config import OptimConfig
from footreid.core.errors import ConfigError

_NO_DECAY_TYPES = (nn.modules.batchnorm._NormBase, nn.GroupNorm, nn.LayerNorm)


def parameter_groups(
    model: nn.Module, weight_decay: float, decay_norm_bias: bool
) -> list[dict[str, object]]:
    """Trainable parameters split into decayed and non-decayed groups.

    Biases and normalisation parameters get no weight decay unless ``decay_norm_bias``
    (decaying them mostly shrinks BN scales). Frozen parameters (LoRA bases) are left out.
    """
    decay, no_decay = [], []
    for module in model.modules():
        for name, param in module.named_parameters(recurse=False):
            if not param.requires_grad:
                continue
            plain = name == "bias" or isinstance(module, _NO_DECAY_TYPES) or param.ndim <= 1
            (no_decay if plain and not decay_norm_bias else decay).append(param)
    groups = [{"params": decay, "weight_decay": weight_decay}]
    if no_decay:
        groups.append({"params": no_decay, "weight_decay": 0.0})
    return [g for g in groups if g["params"]]


def build_optimizer(model: nn.Module, cfg: OptimConfig, lr: float) -> torch.optim.Optimizer:
    """The optimiser named by ``cfg.name`` over the model's trainable parameters.

    Args:
        model: the (possibly DDP-wrapped) model.
        cfg: optimiser settings; lr: the stage's base learning rate.
    """
    if lr <= 0:
        raise ConfigError(f"stages.*.lr: must be > 0, got {lr}")
    groups = parameter_groups(model, cfg.weight_decay, cfg.decay_norm_bias)
    if not groups:
        raise ConfigError(f"model: no trainable parameters ({type(model).__name__})")
    for group in groups:
        group["initial_lr"] = lr
    if cfg.name == "sgd":
        return torch.optim.SGD(groups, lr=lr, momentum=cfg.momentum, nesterov=cfg.nesterov)
    if len(cfg.betas) != 2:
        raise ConfigError(f"optim.betas: expected [beta1, beta2], got {cfg.betas}")
    betas = (float(cfg.betas[0]), float(cfg.betas[1]))
    if cfg.name == "adam":
        return torch.optim.Adam(groups, lr=lr, betas=betas)
    if cfg.name == "adamw":
        return torch.optim.AdamW(groups, lr=lr, betas=betas)
    raise ConfigError(f"optim.name: unknown optimiser '{cfg.name}'; choose adam, adamw, sgd")


class LRSchedule:
    """Learning-rate factor as a function of progress (epochs, fractional).

    Args:
        cfg: ``schedule``, ``warmup_epochs``, ``warmup_start``, ``step_size``, ``gamma``,
            ``min_lr_ratio``.
        epochs: length of the stage in epochs (the cosine's period).
    """

    def __init__(self, cfg: OptimConfig, epochs: int) -> None:
        if cfg.schedule not in ("cosine", "step", "constant"):
            raise ConfigError(f"optim.schedule: '{cfg.schedule}'; choose cosine, step, constant")
        if cfg.warmup_epochs < 0 or not 0 < cfg.warmup_start <= 1:
            raise ConfigError("optim.warmup_epochs must be >= 0 and warmup_start in (0, 1]")
        if cfg.schedule == "step" and (cfg.step_size < 1 or not 0 < cfg.gamma <= 1):
            raise ConfigError("optim.step_size must be >= 1 and optim.gamma in (0, 1]")
        if not 0 <= cfg.min_lr_ratio <= 1:
            raise ConfigError(f"optim.min_lr_ratio: must be in [0, 1], got {cfg.min_lr_ratio}")
        self.cfg = cfg
        self.epochs = max(int(epochs), 1)

    def factor(self, progress: float) -> float:
        """Multiplier of the base rate at ``progress`` epochs into the stage."""
        cfg = self.cfg
        if progress < cfg.warmup_epochs:
            t = progress / cfg.warmup_epochs
            return cfg.warmup_start + (1.0 - cfg.warmup_start) * t
        if cfg.schedule == "step":
            return cfg.gamma ** math.floor(progress / cfg.step_size)
        if cfg.schedule == "cosine":
            span = max(self.epochs - cfg.warmup_epochs, 1e-9)
            t = min(max((progress - cfg.warmup_epochs) / span, 0.0), 1.0)
            return cfg.min_lr_ratio + (1 - cfg.min_lr_ratio) * 0.5 * (1 + math.cos(math.pi * t))
        return 1.0

    def apply(self, optimizer: torch.optim.Optimizer, progress: float) -> float:
        """Set every group's rate to ``initial_lr x factor(progress)``; returns the first."""
        factor = self.factor(progress)
        for group in optimizer.param_groups:
            group["lr"] = group["initial_lr"] * factor
        return float(optimizer.param_groups[0]["lr"])


def clip_gradients(parameters: Iterable[torch.Tensor], max_norm: float) -> float | None:
    """Clip the global gradient L2 norm to ``max_norm`` (0 disables); returns the norm."""
    if max_norm <= 0:
        return None
    params = [p for p in parameters if p.grad is not None]
    return float(torch.nn.utils.clip_grad_norm_(params, max_norm))
