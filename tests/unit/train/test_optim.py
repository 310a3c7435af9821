"""Optimisers, the learning-rate schedule (warm-up, cosine, step) and gradient clipping."""

from __future__ import annotations

import math

import pytest
import torch
from torch import nn

from footreid.core.config import OptimConfig
from footreid.core.errors import ConfigError
from footreid.train.optim import LRSchedule, build_optimizer, clip_gradients, parameter_groups


def small_net() -> nn.Module:
    torch.manual_seed(0)
    return nn.Sequential(nn.Linear(4, 8), nn.BatchNorm1d(8), nn.Linear(8, 2))


@pytest.mark.parametrize(
    ("name", "cls"),
    [("adam", torch.optim.Adam), ("adamw", torch.optim.AdamW), ("sgd", torch.optim.SGD)],
)
def test_build_optimizer_by_name(name: str, cls: type) -> None:
    opt = build_optimizer(small_net(), OptimConfig(name=name, weight_decay=5e-4), lr=3e-4)
    assert type(opt) is cls
    assert all(g["lr"] == 3e-4 and g["initial_lr"] == 3e-4 for g in opt.param_groups)


def test_no_decay_on_bias_and_norm_unless_asked() -> None:
    net = small_net()
    groups = parameter_groups(net, 5e-4, decay_norm_bias=False)
    decayed = {id(p) for p in groups[0]["params"]}
    assert decayed == {id(net[0].weight), id(net[2].weight)}
    assert groups[1]["weight_decay"] == 0.0
    assert len(parameter_groups(net, 5e-4, decay_norm_bias=True)) == 1


def test_frozen_parameters_are_left_out() -> None:
    net = small_net()
    net[0].weight.requires_grad_(False)
    params = [p for g in parameter_groups(net, 0.1, False) for p in g["params"]]
    assert all(p is not net[0].weight for p in params)
    assert len(params) == 5


def test_bad_optimizer_settings() -> None:
    with pytest.raises(ConfigError, match="lr"):
        build_optimizer(small_net(), OptimConfig(), lr=0.0)
    with pytest.raises(ConfigError, match="betas"):
        build_optimizer(small_net(), OptimConfig(betas=[0.9]), lr=1e-3)
    frozen = small_net().requires_grad_(False)
    with pytest.raises(ConfigError, match="no trainable"):
        build_optimizer(frozen, OptimConfig(), lr=1e-3)


def test_linear_warmup_then_constant() -> None:
    s = LRSchedule(OptimConfig(schedule="constant", warmup_epochs=2, warmup_start=0.1), 10)
    assert s.factor(0) == pytest.approx(0.1)
    assert s.factor(1) == pytest.approx(0.55)
    assert s.factor(2) == pytest.approx(1.0)
    assert s.factor(9.5) == 1.0


def test_step_decay_every_step_size_epochs() -> None:
    """The brief's OSNet recipe: x0.1 every 20 epochs."""
    s = LRSchedule(OptimConfig(schedule="step", step_size=20, gamma=0.1), 60)
    assert [s.factor(e) for e in (0, 19.9)] == [1.0, 1.0]
    assert s.factor(20) == pytest.approx(0.1)
    assert s.factor(45) == pytest.approx(0.01)


def test_cosine_after_warmup_to_min_ratio() -> None:
    cfg = OptimConfig(schedule="cosine", warmup_epochs=1, warmup_start=0.5, min_lr_ratio=0.1)
    s = LRSchedule(cfg, 11)
    assert s.factor(0.5) == pytest.approx(0.75)
    assert s.factor(1) == pytest.approx(1.0)
    assert s.factor(6) == pytest.approx(0.1 + 0.9 * 0.5)  # half way
    assert s.factor(11) == pytest.approx(0.1)
    values = [s.factor(e) for e in range(1, 12)]
    assert values == sorted(values, reverse=True)
    assert s.factor(3) == pytest.approx(0.1 + 0.45 * (1 + math.cos(math.pi * 0.2)))


def test_apply_sets_every_group() -> None:
    net = small_net()
    opt = build_optimizer(net, OptimConfig(schedule="step", step_size=1, gamma=0.5), lr=0.2)
    lr = LRSchedule(OptimConfig(schedule="step", step_size=1, gamma=0.5), 4).apply(opt, 2.0)
    assert lr == pytest.approx(0.05)
    assert all(g["lr"] == pytest.approx(0.05) for g in opt.param_groups)


@pytest.mark.parametrize(
    "cfg",
    [
        OptimConfig(schedule="linear"),  # type: ignore[arg-type]
        OptimConfig(warmup_epochs=-1),
        OptimConfig(warmup_start=0.0),
        OptimConfig(schedule="step", step_size=0),
        OptimConfig(schedule="step", gamma=1.5),
        OptimConfig(min_lr_ratio=2.0),
    ],
)
def test_bad_schedules_are_refused(cfg: OptimConfig) -> None:
    with pytest.raises(ConfigError, match="optim"):
        LRSchedule(cfg, 10)


def test_clip_gradients_caps_the_global_norm() -> None:
    a, b = torch.zeros(3, requires_grad=True), torch.zeros(4, requires_grad=True)
    a.grad, b.grad = torch.full((3,), 3.0), torch.full((4,), 4.0)
    norm = clip_gradients([a, b], 1.0)
    assert norm == pytest.approx(math.sqrt(27 + 64))
    total = torch.cat([a.grad, b.grad]).norm()
    assert float(total) == pytest.approx(1.0, rel=1e-4)


def test_clip_gradients_off_and_below_the_cap() -> None:
    a = torch.zeros(2, requires_grad=True)
    a.grad = torch.tensor([0.3, 0.4])
    assert clip_gradients([a], 0.0) is None
    assert clip_gradients([a], 10.0) == pytest.approx(0.5)
    assert torch.allclose(a.grad, torch.tensor([0.3, 0.4]))
