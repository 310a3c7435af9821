"""``train_one_epoch``: steps, limits, clipping, stats, the NaN stop, bf16 autocast."""

from __future__ import annotations

import pytest
import torch
from torch import nn

import footreid.train.loop as loop_module
from footreid.core.config import OptimConfig
from footreid.core.errors import TrainingError
from footreid.models.spec import ReidOutput
from footreid.train.loop import EpochLog, StepOptions, train_one_epoch
from footreid.train.objectives import build_objective
from footreid.train.optim import LRSchedule, build_optimizer


class Linear(nn.Module):
    """A 2-class linear 'model' returning a ReidOutput."""

    def __init__(self) -> None:
        super().__init__()
        torch.manual_seed(0)
        self.fc = nn.Linear(12, 4)
        self.classifier = nn.Linear(4, 2)

    def forward(self, x: torch.Tensor) -> ReidOutput:
        feature = self.fc(x.flatten(1))
        return ReidOutput(feature, feature, self.classifier(feature))


def loader(steps: int = 5, batch: int = 8) -> list[tuple[torch.Tensor, torch.Tensor, torch.Tensor]]:
    g = torch.Generator().manual_seed(0)
    out = []
    for _ in range(steps):
        labels = torch.arange(batch) % 2
        images = torch.randn(batch, 3, 2, 2, generator=g) + labels[:, None, None, None] * 2.0
        out.append((images, labels, torch.arange(batch)))
    return out


def setup(lr: float = 0.1, **optim: object):
    model = Linear()
    cfg = OptimConfig(name="sgd", weight_decay=0.0, schedule="constant", **optim)
    return model, build_optimizer(model, cfg, lr), LRSchedule(cfg, 1)


OBJECTIVE = {"ce": {"weight": 1.0, "label_smoothing": 0.0}, "triplet": {"weight": 1.0}}


def test_epoch_learns_and_reports_stats() -> None:
    model, opt, schedule = setup()
    objective = build_objective(OBJECTIVE)
    first = train_one_epoch(model, loader(), objective, opt, schedule, 0, StepOptions())
    later = first
    for epoch in range(1, 4):
        later = train_one_epoch(model, loader(), objective, opt, schedule, epoch, StepOptions())
    assert later.loss < first.loss
    assert first.accuracy is not None and later.accuracy is not None
    assert later.accuracy > max(first.accuracy, 0.8)
    assert set(first.parts) == {"ce", "triplet"}
    assert (first.steps, first.images, first.lr) == (5, 40, 0.1)
    record = first.as_dict()
    assert {"loss", "loss_ce", "loss_triplet", "accuracy", "images_per_s", "lr"} <= set(record)
    assert first.images_per_s > 0


def test_max_steps_limits_the_epoch() -> None:
    model, opt, schedule = setup()
    stats = train_one_epoch(
        model, loader(), build_objective(OBJECTIVE), opt, schedule, 0, StepOptions(max_steps=2)
    )
    assert (stats.steps, stats.images) == (2, 16)


def test_lr_follows_the_schedule_within_the_epoch(monkeypatch: pytest.MonkeyPatch) -> None:
    model, opt, _ = setup(warmup_epochs=1.0, warmup_start=0.1)
    cfg = OptimConfig(name="sgd", schedule="constant", warmup_epochs=1.0, warmup_start=0.1)
    seen = []
    real = loop_module._backward_step

    def spy(loss, model, optimizer, scaler, clip):  # type: ignore[no-untyped-def]
        seen.append(optimizer.param_groups[0]["lr"])
        real(loss, model, optimizer, scaler, clip)

    monkeypatch.setattr(loop_module, "_backward_step", spy)
    objective = build_objective(OBJECTIVE)
    train_one_epoch(model, loader(4), objective, opt, LRSchedule(cfg, 2), 0, StepOptions())
    assert seen == pytest.approx([0.01, 0.0325, 0.055, 0.0775])


def test_gradient_clipping_is_applied(monkeypatch: pytest.MonkeyPatch) -> None:
    norms = []
    real = loop_module.clip_gradients

    def spy(params, max_norm):  # type: ignore[no-untyped-def]
        params = list(params)
        norm = real(params, max_norm)
        after = torch.cat([p.grad.flatten() for p in params if p.grad is not None]).norm()
        norms.append((norm, float(after)))
        return norm

    monkeypatch.setattr(loop_module, "clip_gradients", spy)
    model, opt, schedule = setup(lr=10.0)
    train_one_epoch(
        model, loader(3), build_objective(OBJECTIVE), opt, schedule, 0, StepOptions(grad_clip=1e-3)
    )
    assert len(norms) == 3
    assert all(before > 1e-3 and after == pytest.approx(1e-3, rel=1e-3) for before, after in norms)


def test_non_finite_loss_raises_before_the_step() -> None:
    model, opt, schedule = setup()
    before = {k: v.clone() for k, v in model.state_dict().items()}
    batches = loader(3)
    batches[1] = (batches[1][0] * float("inf"), batches[1][1], batches[1][2])
    with pytest.raises(TrainingError, match=r"epoch 1: non-finite loss at step 2/3 \(ce=nan"):
        train_one_epoch(
            model,
            batches,
            build_objective(OBJECTIVE),
            opt,
            schedule,
            0,
            StepOptions(),
            log=EpochLog("epoch 1"),
        )
    after = model.state_dict()
    assert all(torch.isfinite(v).all() for v in after.values())
    assert not torch.equal(before["fc.weight"], after["fc.weight"])  # step 1 did run


def test_bf16_autocast_step_on_cpu() -> None:
    model, opt, schedule = setup()
    stats = train_one_epoch(
        model,
        loader(2),
        build_objective(OBJECTIVE),
        opt,
        schedule,
        0,
        StepOptions(precision="bf16"),
    )
    assert stats.steps == 2 and stats.loss == stats.loss  # finite, not NaN


def test_max_steps_draws_no_extra_batch() -> None:
    """A limited epoch must not decode (draw) the batch after its last step."""
    drawn = []

    class Counting:
        def __len__(self) -> int:
            return 5

        def __iter__(self):  # type: ignore[no-untyped-def]
            for batch in loader(5):
                drawn.append(1)
                yield batch

    model, opt, schedule = setup()
    stats = train_one_epoch(
        model, Counting(), build_objective(OBJECTIVE), opt, schedule, 0, StepOptions(max_steps=2)
    )
    assert stats.steps == 2 and len(drawn) == 2
