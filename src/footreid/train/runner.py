"""``fit``: the whole training run, composed in one visible place.

Read it top to bottom, like torchvision's reference ``train.py``: :func:`fit` checks the
config (which builds the objective and the stage plan, once), opens the run, reads the
training crops, builds the model, and trains every remaining epoch of every stage.
:func:`_train_stage` takes the stage's subset, rebuilds the classifier if its identities
changed (everything else carries over), builds the optimiser and the batch sampler;
:func:`_train_epoch` takes the loader of the epoch's input size (one loader per size:
progressive resizing changes nothing in place), runs
:func:`~footreid.train.loop.train_one_epoch`, validates through the caller's callback
(``train`` never imports ``embed`` or ``evaluate``), and :func:`_save` writes
``last.pt`` every epoch, ``best.pt`` when the validation metric improves and
``stage<i>-<name>.pt`` at the end of a stage, while :func:`_record` writes
``metrics.jsonl`` and TensorBoard scalars (rank 0 only). All state lives in the records
of :mod:`.state`.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

from footreid.core.config import RunConfig, load_config
from footreid.core.errors import ConfigError, TrainingError
from footreid.core.log import get_logger
from footreid.core.records import Sample
from footreid.core.size import ImageSize
from footreid.data.soccernet import read_train
from footreid.train.checkpoint import (
    model_entries,
    progress_entries,
    restore_resume_state,
    resume_entries,
    save_checkpoint,
)
from footreid.train.distributed import barrier, shutdown_distributed, sync_buffers
from footreid.train.loop import EpochLog, EpochStats, StepOptions, train_one_epoch
from footreid.train.objectives import Objective
from footreid.train.setup import (
    build_state,
    check_run_config,
    fit_classifier,
    seed_torch,
    stage_loader,
    stage_parts,
    start_run,
)
from footreid.train.stages import Stage, stage_samples
from footreid.train.state import FitResult, RunContext, StageParts, TrainPlan, TrainState
from footreid.train.validation import (
    ValContext,
    ValidateFn,
    is_due,
    run_validation,
    update_best,
)

log = get_logger(__name__)


def fit(
    config: RunConfig,
    validate: ValidateFn | None = None,
    resume: bool = False,
    plan: TrainPlan | None = None,
) -> FitResult:
    """Train ``config``'s model through its stage plan.

    Args:
        config: the resolved run config (the run lives in ``config.run_dir``).
        validate: called every ``val.every`` epochs (and at the end of every stage) on
            rank 0; its ``val.metric`` entry (higher is better) picks ``best.pt``.
            None: no validation, ``best.pt`` is the last epoch.
        resume: continue from ``checkpoints/last.pt`` (with the same config).
        plan: ``check_run_config(config)``'s result where the caller checked the config
            already (its objective and stage plan are then not built again); None: here.

    Returns:
        The :class:`FitResult`.

    Raises:
        ConfigError: bad config values (names the field), before anything is read.
        TrainingError: non-finite loss (the last good checkpoint is kept), a run folder
            that already holds a run without ``resume``, or a checkpoint that does not fit.
    """
    plan = plan or check_run_config(config)
    if validate is None and config.val.every:
        log.warning("no validation callback: best.pt will be the last epoch")
    run = start_run(config, resume)
    state = None
    try:
        objective = plan.objective.to(run.device)
        train = read_train(config.data.root, skip_bad=config.data.skip_bad)
        state = build_state(run, objective, train)
        _log_start(run, state, plan.stages, len(train))
        start_stage, start_epoch = state.stage_index, state.epoch
        for stage in plan.stages[start_stage:]:
            first = start_epoch if stage.index == start_stage else 0
            if first < stage.epochs:
                _train_stage(run, state, objective, train, stage, first, validate)
        layout = run.layout
        best = state.best
        return FitResult(
            layout.root,
            layout.last,
            layout.best,
            best.get("metric"),
            best.get("value"),
            state.history,
        )
    finally:
        _finish(run, state)


def train_from_config(
    config: RunConfig | str | Path,
    overrides: Sequence[str] = (),
    validate: ValidateFn | None = None,
    resume: bool = False,
) -> Path:
    """Train from a config object or a recipe file (+ ``a.b=c`` overrides).

    Returns:
        The run folder (``checkpoints/best.pt`` holds the chosen weights).
    """
    if not isinstance(config, RunConfig):
        config = load_config(config, overrides)
    elif overrides:
        raise ConfigError("overrides apply to a recipe file; edit the RunConfig object instead")
    return fit(config, validate, resume).run_dir


def _train_stage(
    run: RunContext,
    state: TrainState,
    objective: Objective,
    train: list[Sample],
    stage: Stage,
    first_epoch: int,
    validate: ValidateFn | None,
) -> None:
    """Epochs ``first_epoch``.. of ``stage``: its subset, classifier, optimiser, sampler."""
    config, seed = run.config, run.config.train.seed
    samples = stage_samples(train, stage, seed)
    fit_classifier(run, state, objective, stage, samples)
    parts = stage_parts(run, state, stage, samples)
    ckpt = run.resume_from
    if ckpt is not None and first_epoch > 0 and int(ckpt["stage"]) == stage.index:
        restore_resume_state(parts, ckpt)  # continuing the stage last.pt was saved in
    log.info(
        "stage %s: %d crops of %d identities, %d batches of %d per epoch and rank",
        stage.name,
        len(samples),
        len({s.label for s in samples}),
        len(parts.batches),
        config.data.batch_size,
    )
    for epoch in range(first_epoch, stage.epochs):
        _train_epoch(run, state, objective, parts, epoch, validate)


def _train_epoch(
    run: RunContext,
    state: TrainState,
    objective: Objective,
    parts: StageParts,
    epoch: int,
    validate: ValidateFn | None,
) -> None:
    """One epoch: train, average BatchNorm statistics, validate, save, record."""
    config, stage = run.config, parts.stage
    size = stage.size_at(epoch)
    parts.batches.set_epoch(epoch)
    seed_torch(config.train.seed, stage.index, epoch, run.env.rank)  # dropout
    description = f"{stage.name} {epoch + 1}/{stage.epochs} {size}"
    epoch_log = EpochLog(description, run.writer, state.global_step)
    loader = stage_loader(run, state, parts, size)
    try:
        stats = train_one_epoch(
            parts.net,
            loader,
            objective,
            parts.optimizer,
            parts.schedule,
            epoch,
            _step_options(run),
            parts.scaler,
            epoch_log,
        )
    except TrainingError as exc:
        kept = (
            run.layout.last if run.layout.last.is_file() else "none yet (failed in the first epoch)"
        )
        raise TrainingError(f"{exc}; last good checkpoint: {kept}") from None
    sync_buffers(state.model, run.env)  # BN statistics: the same on every rank
    state.stage_index, state.epoch = stage.index, epoch + 1
    state.global_step += stats.steps
    state.global_epoch += 1
    metrics, improved = _validate(run, state, parts, size, validate)
    record = _record(state, parts, size, stats, metrics)
    if run.env.is_main:
        _save(run, state, parts, size, record, improved)
    _report(run, state, record, stats)  # a recorded epoch always has its checkpoint
    barrier(run.env)


def _step_options(run: RunContext) -> StepOptions:
    config = run.config
    return StepOptions(
        run.device,
        run.precision,
        config.train.channels_last,
        config.optim.grad_clip,
        config.train.max_steps_per_epoch,
        config.train.log_every,
        run.env,
    )


def _validate(
    run: RunContext,
    state: TrainState,
    parts: StageParts,
    size: ImageSize,
    validate: ValidateFn | None,
) -> tuple[dict[str, float] | None, bool]:
    """This epoch's validation metrics (None when not due) and whether it becomes best.pt.

    Without validation every epoch becomes ``best.pt``: the last epoch is the choice.
    """
    val, stage = run.config.val, parts.stage
    if validate is None or not val.every:
        return None, True
    if not is_due(val, state.epoch - 1, stage.epochs):
        return None, False
    context = ValContext(
        stage.index,
        stage.name,
        state.epoch - 1,
        state.global_epoch,
        size,
        run.device,
        run.precision,
    )
    metrics = run_validation(validate, state.model, context, val.metric, run.env)
    state.best, improved = update_best(state.best, metrics, val.metric, state.global_epoch)
    return metrics, improved


def _record(
    state: TrainState,
    parts: StageParts,
    size: ImageSize,
    stats: EpochStats,
    metrics: dict[str, float] | None,
) -> dict[str, Any]:
    """The epoch's metrics.jsonl line (also saved in its checkpoints)."""
    return {
        "stage": parts.stage.name,
        "stage_index": parts.stage.index,
        "epoch": state.epoch,
        "global_epoch": state.global_epoch,
        "global_step": state.global_step,
        "input_size": size.to_list(),
        **stats.as_dict(),
        "val": metrics,
    }


def _report(run: RunContext, state: TrainState, record: dict[str, Any], stats: EpochStats) -> None:
    """Write the record (metrics.jsonl, after the checkpoint), TensorBoard and a log line."""
    run.writer.record(record)
    metrics, metric = record["val"], run.config.val.metric
    scalars = {f"epoch/{k}": float(v) for k, v in stats.as_dict().items() if v is not None}
    scalars |= {f"val/{k}": float(v) for k, v in (metrics or {}).items()}
    run.writer.scalars(state.global_epoch, scalars)
    state.history.append(record)
    log.info(
        "stage %s, epoch %d, %s: loss %.4f, acc %s, %.1f img/s, %.1f s%s",
        record["stage"],
        record["epoch"],
        ImageSize(*record["input_size"]),
        stats.loss,
        "-" if stats.accuracy is None else f"{stats.accuracy:.3f}",
        stats.images_per_s,
        stats.seconds,
        "" if metrics is None else f", val {metric} {metrics[metric]:.4f}",
    )


def _save(
    run: RunContext,
    state: TrainState,
    parts: StageParts,
    size: ImageSize,
    record: dict[str, Any],
    improved: bool,
) -> None:
    """``last.pt`` (with the resume state), ``best.pt`` when improved, the stage's file."""
    weights = model_entries(state.model, size, run.config_dict)
    weights |= progress_entries(state, parts, record)
    save_checkpoint(weights | resume_entries(parts), run.layout.last)
    if improved:
        save_checkpoint(weights, run.layout.best)
    if state.epoch == parts.stage.epochs:
        save_checkpoint(weights, run.layout.stage_checkpoint(parts.stage.index, parts.stage.name))


def _log_start(run: RunContext, state: TrainState, plan: Sequence[Stage], crops: int) -> None:
    counts, spec = state.model.param_counts(), state.model.spec
    log.info(
        "%s: %.2f M parameters (%.2f M trainable) on %s, %s; %d training crops; %d stage(s)",
        spec.name,
        counts["total"] / 1e6,
        counts["trainable"] / 1e6,
        run.device,
        run.precision,
        crops,
        len(plan),
    )


def _finish(run: RunContext, state: TrainState | None) -> None:
    """Flush TensorBoard and leave the process group if ``fit`` joined it (the last call
    of every ``fit``, on every rank, also after an error)."""
    run.writer.close()
    if run.joined_group:
        shutdown_distributed()
