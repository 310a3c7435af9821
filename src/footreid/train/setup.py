"""What training runs with: the checked config, the run, the model state, each stage's parts.

:func:`check_run_config` checks everything that needs no data (validation rule, model
name and options, stage plan, loss terms), so a typo fails at once with a suggestion
instead of after the dataset has been read. :func:`start_run` fixes the process's
context (torchrun place, device, precision, run folder, the checkpoint being resumed)
and :func:`build_state` the model with its starting weights and counters. For every
stage, :func:`fit_classifier` sizes the classifier to the stage's identities,
:func:`stage_parts` builds its optimiser and batch sampler, and :func:`stage_loader` one
loader per input size (progressive resizing changes no object in place).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import torch
from torch.utils.data import DataLoader

from footreid.core.config import RunConfig, save_config
from footreid.core.errors import ConfigError, TrainingError
from footreid.core.hardware import resolve_device, resolve_precision
from footreid.core.layout import RunLayout
from footreid.core.log import get_logger
from footreid.core.records import Sample
from footreid.core.schema import to_dict
from footreid.core.size import ImageSize
from footreid.data.loader import ReidDataset, build_batch_sampler, build_train_loader
from footreid.data.occlusion import occlusion_from_config
from footreid.data.samplers import mix_seed
from footreid.data.transforms import build_train_transform
from footreid.models import create_model, model_spec
from footreid.train.checkpoint import check_resume_config, load_checkpoint, load_model_state
from footreid.train.distributed import (
    RankZeroWriter,
    barrier,
    init_distributed,
    read_env,
    wrap_model,
)
from footreid.train.objectives import Objective, build_objective
from footreid.train.optim import LRSchedule, build_optimizer
from footreid.train.stages import (
    Stage,
    class_actions,
    class_signature,
    count_classes,
    plan_stages,
    stage_samples,
)
from footreid.train.state import RunContext, StageParts, TrainPlan, TrainState
from footreid.train.validation import check_validation

log = get_logger(__name__)

INIT_SEED = 0xC1A5
"""Mixed with the run seed (and the stage) to seed the classifier's initialisation."""


def check_run_config(config: RunConfig) -> TrainPlan:
    """Check what needs no data: validation rule, model and options, stage plan, losses.

    Returns:
        The :class:`TrainPlan` (model spec, objective, stage plan) the run then uses: the
        one place where the objective and the stage plan are built.

    Raises:
        ConfigError: naming the field (unknown names come with the closest known ones).
        RegistryError: an unknown model or loss name.
    """
    check_validation(config.val)
    name, options = config.model.name, config.model.options
    try:
        spec = model_spec(name, **options)
    except ConfigError as exc:
        raise ConfigError(f"model.options: {exc}") from None
    objective = build_objective(config.loss)
    if spec.parameter_free:
        problem = (
            "no parameters: it cannot be trained with a classifier loss"
            if objective.needs_logits
            else "no parameters (a fixed function of the pixels): there is nothing to train"
        )
        raise ConfigError(
            f"model.name: '{name}' has {problem}; embed it directly with footreid embed"
        )
    stages = plan_stages(config.stages, spec.input_size, spec.patch_size)
    occlusion_from_config(config.augment.occlude, config.augment.occlude_width)
    return TrainPlan(spec, objective, tuple(stages))


def start_run(config: RunConfig, resume: bool) -> RunContext:
    """The process's context: torchrun place, device, precision, run folder, writer.

    Args:
        config: the checked run config.
        resume: continue the run's ``last.pt`` (with the same config), when there is one.

    Raises:
        TrainingError: the folder holds a run and ``resume`` is False, or the saved
            config differs from ``config`` in a way that changes results.
    """
    env = read_env()
    device = resolve_device(config.train.device, env.local_rank, "train.device")
    joined = init_distributed(env, device)
    if config.train.threads > 0:
        torch.set_num_threads(config.train.threads)
    precision = resolve_precision(config.train.precision, device, "train.precision")
    layout, config_dict = RunLayout(Path(config.run_dir)), to_dict(config)
    resume_from = _resume_point(layout, config_dict) if resume else None
    _prepare_run_dir(config, layout, resume, env.is_main)
    barrier(env)
    tb = layout.tensorboard if config.train.tensorboard else None
    writer = RankZeroWriter(layout.metrics, tb, env)
    return RunContext(
        config, config_dict, env, device, precision, layout, writer, resume_from, joined
    )


def _resume_point(layout: RunLayout, config_dict: dict[str, Any]) -> dict[str, Any] | None:
    if not layout.last.is_file():
        log.info("%s: no checkpoint to resume, starting from the first epoch", layout.last)
        return None
    ckpt = load_checkpoint(layout.last)
    check_resume_config(ckpt["config"], config_dict, layout.last)
    log.info("resuming %s after stage %s epoch %d", layout.last, ckpt["stage_name"], ckpt["epoch"])
    return ckpt


def _prepare_run_dir(config: RunConfig, layout: RunLayout, resume: bool, is_main: bool) -> None:
    if not resume and layout.last.is_file():
        raise TrainingError(
            f"{layout.root} already holds a run ({layout.last}); pass --resume to continue "
            "it, or choose another run name (--set name=...)"
        )
    if is_main:
        layout.make()
        save_config(config, layout.config)


def build_state(run: RunContext, objective: Objective, train: list[Sample]) -> TrainState:
    """The model (with its starting weights, on the device) and the run's counters.

    A fresh run builds the model with ``model.pretrained`` weights and a classifier for
    the first stage's identities (when a loss needs logits); a resumed run rebuilds it
    as ``last.pt`` records it and loads those weights strictly.
    """
    config, ckpt = run.config, run.resume_from
    seed_torch(config.train.seed, INIT_SEED)
    if ckpt is None:
        samples = stage_samples(train, config.stages[0], config.train.seed)
        classes = count_classes(samples) if objective.needs_logits else 0
        model = create_model(
            config.model.name, classes, config.model.pretrained, **config.model.options
        )
        return TrainState(place(run, model), class_signature(samples) if classes else "")
    classes = int(ckpt["num_classes"])
    model = create_model(config.model.name, classes, "none", **config.model.options)
    load_model_state(model, ckpt, run.layout.last)
    return TrainState(
        place(run, model),
        str(ckpt["class_signature"]),
        stage_index=int(ckpt["stage"]),
        epoch=int(ckpt["epoch"]),
        global_step=int(ckpt["global_step"]),
        global_epoch=int(ckpt["global_epoch"]),
        best=dict(ckpt.get("best") or {"metric": None, "value": None}),
    )


def seed_torch(*parts: int) -> None:
    """Seed torch's global RNG (every device) from ``mix_seed(*parts)``.

    The one place training seeds it: before building the model, before each new
    classifier, at the start of every epoch (dropout). Everything else draws from its
    own ``torch.Generator``, so ``last.pt`` needs no RNG state.
    """
    torch.manual_seed(mix_seed(*parts))


def place(run: RunContext, model: torch.nn.Module) -> Any:
    """``model`` on the run's device (NHWC with ``train.channels_last``)."""
    model = model.to(run.device)
    if run.config.train.channels_last:
        model = model.to(memory_format=torch.channels_last)
    return model


def fit_classifier(
    run: RunContext, state: TrainState, objective: Objective, stage: Stage, samples: list[Sample]
) -> None:
    """Rebuild the classifier when the stage's identities differ from its rows; bind the
    identities' actions to the loss terms that need them (``ce`` within actions)."""
    if objective.needs_class_groups:
        groups = torch.tensor(class_actions(samples), dtype=torch.long, device=run.device)
        objective.bind_classes(groups)  # on the device: no copy per step
    if not objective.needs_logits:
        return
    signature = class_signature(samples)
    if signature == state.signature:
        return
    classes = count_classes(samples)
    log.info("stage %s: %d identities, new classifier (the rest carries over)", stage.name, classes)
    seed_torch(run.config.train.seed, stage.index, INIT_SEED)
    state.model.reset_classifier(classes)
    state.model = place(run, state.model)
    state.signature = signature


def stage_parts(
    run: RunContext, state: TrainState, stage: Stage, samples: list[Sample]
) -> StageParts:
    """The stage's DDP-wrapped model, optimiser, schedule, fp16 scaler and batch sampler."""
    config, env = run.config, run.env
    stage_seed = mix_seed(config.train.seed, stage.index)
    return StageParts(
        stage=stage,
        samples=samples,
        net=wrap_model(state.model, env, run.device),
        optimizer=build_optimizer(state.model, config.optim, stage.lr),
        schedule=LRSchedule(config.optim, stage.epochs),
        scaler=torch.amp.GradScaler("cuda") if run.precision == "fp16" else None,
        batches=build_batch_sampler(samples, config.data, stage_seed, env.world_size, env.rank),
    )


def stage_loader(
    run: RunContext, state: TrainState, parts: StageParts, size: ImageSize
) -> DataLoader:
    """The stage's loader at input size ``size`` (built on first use, then reused)."""
    if size not in parts.loaders:
        config, spec = run.config, state.model.spec
        transform = build_train_transform(
            size, spec.mean, spec.std, config.augment, config.train.seed
        )
        stage_seed = mix_seed(config.train.seed, parts.stage.index)
        aug = config.augment
        occlusion = occlusion_from_config(aug.occlude, aug.occlude_width)
        parts.loaders[size] = build_train_loader(
            ReidDataset(parts.samples, transform, occlusion),
            parts.batches,
            stage_seed,
            config.data.num_workers,
            run.device.type == "cuda",
        )
    return parts.loaders[size]
