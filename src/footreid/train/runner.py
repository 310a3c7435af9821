"""``fit``: the stage plan, run epoch by epoch, with checkpoints, validation and logs.

Composed in one visible place (torchvision's reference ``train.py`` is the model): read
the training crops, build the model, then for every stage take its subset, rebuild the
classifier if the identities changed (everything else carries over), build the
optimiser, the sampler and the loader, and run its epochs. After every epoch: validate
through the ``validate`` callback (built by the caller; train never imports embed or
evaluate), write ``last.pt`` atomically, ``best.pt`` when the validation metric
improves, a line of ``metrics.jsonl`` and TensorBoard scalars (rank 0 only).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch
from torch import nn

from footreid.core.config import RunConfig, load_config, save_config, to_dict
from footreid.core.errors import ConfigError, TrainingError
from footreid.core.io import RunLayout
from footreid.core.log import get_logger
from footreid.data.loader import ReidDataset, build_batch_sampler, build_train_loader
from footreid.data.samplers import mix_seed
from footreid.data.soccernet import read_train
from footreid.data.transforms import build_train_transform
from footreid.models import create_model
from footreid.train.checkpoint import (
    BEST,
    LAST,
    check_resume_config,
    load_checkpoint,
    load_model_state,
    model_entries,
    rng_state,
    save_checkpoint,
    stage_file,
)
from footreid.train.distributed import (
    RankZeroWriter,
    barrier,
    broadcast,
    init_distributed,
    read_env,
    resolve_device,
    sync_buffers,
    wrap_model,
)
from footreid.train.loop import (
    StepOptions,
    ValContext,
    ValidateFn,
    check_validation,
    resolve_precision,
    train_one_epoch,
)
from footreid.train.objectives import build_objective
from footreid.train.optim import LRSchedule, build_optimizer
from footreid.train.stages import (
    Stage,
    class_actions,
    class_signature,
    count_classes,
    plan_stages,
    stage_samples,
)

log = get_logger(__name__)


@dataclass
class FitResult:
    """What ``fit`` leaves behind.

    Attributes:
        run_dir: the run folder (config.yaml, metrics.jsonl, checkpoints/, tb/).
        last, best: the ``last.pt`` and ``best.pt`` checkpoints.
        best_metric, best_value: the validation metric that chose ``best.pt`` and its
            value (None without validation: then ``best.pt`` is the last epoch).
        history: one record per epoch trained by this call (the metrics.jsonl lines).
    """

    run_dir: Path
    last: Path
    best: Path
    best_metric: str | None
    best_value: float | None
    history: list[dict[str, Any]]


class _Session:
    """The state of one ``fit`` call in one process."""

    def __init__(self, config: RunConfig, validate: ValidateFn | None, resume: bool) -> None:
        self.config, self.validate = config, validate
        self.env = read_env()
        self.device = resolve_device(config.train.device, self.env)
        init_distributed(self.env, self.device)
        if config.train.threads > 0:
            torch.set_num_threads(config.train.threads)
        self.precision = resolve_precision(config.train.precision, self.device)
        self.layout = RunLayout(Path(config.run_dir))
        self.cfg_dict = to_dict(config)
        self.seed = config.train.seed
        self.ckpt = self._resume_point() if resume else None
        self._prepare_run_dir(resume)
        self.objective = build_objective(config.loss).to(self.device)
        self.train = read_train(config.data.root, skip_bad=config.data.skip_bad)
        state = self.ckpt or {}
        self.global_step = int(state.get("global_step", 0))
        self.global_epoch = int(state.get("global_epoch", 0))
        self.best: dict[str, Any] = dict(state.get("best") or {"metric": None, "value": None})
        self.history: list[dict[str, Any]] = []
        tb = self.layout.tensorboard if config.train.tensorboard else None
        self.writer = RankZeroWriter(self.layout.metrics, tb, self.env)

    def _resume_point(self) -> dict[str, Any] | None:
        path = self.layout.checkpoints / LAST
        if not path.is_file():
            log.info("%s: no checkpoint to resume, starting from the first epoch", path)
            return None
        ckpt = load_checkpoint(path)
        check_resume_config(ckpt["config"], self.cfg_dict, path)
        log.info("resuming %s after stage %s epoch %d", path, ckpt["stage_name"], ckpt["epoch"])
        return ckpt

    def _prepare_run_dir(self, resume: bool) -> None:
        last = self.layout.checkpoints / LAST
        if not resume and last.is_file():
            raise TrainingError(
                f"{self.layout.root} already holds a run ({last}); pass --resume to continue "
                "it, or choose another run name (--set name=...)"
            )
        if self.env.is_main:
            self.layout.make()
            save_config(self.config, self.layout.config)
        barrier(self.env)

    def _build_model(self) -> tuple[nn.Module, str]:
        """The model (on its device) and the class signature of its classifier rows."""
        cfg = self.config.model
        start = self.config.stages[self.ckpt["stage"] if self.ckpt else 0]
        samples = stage_samples(self.train, start, self.seed)
        if self.ckpt is not None:
            classes, pretrained = int(self.ckpt["num_classes"]), "none"
        else:
            classes = count_classes(samples) if self.objective.needs_logits else 0
            pretrained = cfg.pretrained
        torch.manual_seed(mix_seed(self.seed, 0xC1A5))
        model = create_model(cfg.name, num_classes=classes, pretrained=pretrained, **cfg.options)
        if model.spec.parameter_free:  # a loss without logits gets this far
            raise ConfigError(
                f"model.name: '{cfg.name}' has no parameters (a fixed function of the "
                "pixels): there is nothing to train; embed it directly with footreid embed"
            )
        if self.ckpt is not None:
            load_model_state(model, self.ckpt, self.layout.checkpoints / LAST)
            signature = str(self.ckpt["class_signature"])
        else:
            signature = class_signature(samples) if classes else ""
        return self._place(model), signature

    def _place(self, model: nn.Module) -> nn.Module:
        model = model.to(self.device)
        if self.config.train.channels_last:
            model = model.to(memory_format=torch.channels_last)
        return model

    def run(self) -> FitResult:
        """Train every remaining epoch of every stage."""
        self.model, self.signature = self._build_model()
        spec = self.model.spec
        self.plan = plan_stages(self.config.stages, spec.input_size, spec.patch_size)
        counts = self.model.param_counts()
        log.info(
            "%s: %.2f M parameters (%.2f M trainable) on %s, %s; %d training crops; %d stage(s)",
            spec.name,
            counts["total"] / 1e6,
            counts["trainable"] / 1e6,
            self.device,
            self.precision,
            len(self.train),
            len(self.plan),
        )
        start_stage = int(self.ckpt["stage"]) if self.ckpt else 0
        start_epoch = int(self.ckpt["epoch"]) if self.ckpt else 0
        for stage in self.plan[start_stage:]:
            first = start_epoch if stage.index == start_stage else 0
            if first < stage.epochs:
                self._run_stage(stage, first)
        checkpoints = self.layout.checkpoints
        return FitResult(
            self.layout.root,
            checkpoints / LAST,
            checkpoints / BEST,
            self.best.get("metric"),
            self.best.get("value"),
            self.history,
        )

    def _classifier_for(self, stage: Stage, samples: list) -> None:
        """Rebuild the classifier when the stage's identities differ from its rows."""
        if not self.objective.needs_logits:
            return
        signature = class_signature(samples)
        if signature == self.signature:
            return
        classes = count_classes(samples)
        log.info(
            "stage %s: %d identities, new classifier (the rest carries over)", stage.name, classes
        )
        torch.manual_seed(mix_seed(self.seed, stage.index, 0xC1A5))
        self.model.reset_classifier(classes)
        self.model = self._place(self.model)
        self.signature = signature

    def _run_stage(self, stage: Stage, first_epoch: int) -> None:
        cfg = self.config
        samples = stage_samples(self.train, stage, self.seed)
        self._classifier_for(stage, samples)
        if self.objective.needs_class_groups:
            self.objective.bind_classes(torch.tensor(class_actions(samples), dtype=torch.long))
        net = wrap_model(self.model, self.env, self.device)
        optimizer = build_optimizer(self.model, cfg.optim, stage.lr)
        scaler = torch.amp.GradScaler("cuda") if self.precision == "fp16" else None
        if self.ckpt is not None and first_epoch > 0 and int(self.ckpt["stage"]) == stage.index:
            optimizer.load_state_dict(self.ckpt["optimizer"])
            if scaler is not None and self.ckpt.get("scaler"):
                scaler.load_state_dict(self.ckpt["scaler"])
        stage_seed = mix_seed(self.seed, stage.index)
        batches = build_batch_sampler(
            samples, cfg.data, stage_seed, self.env.world_size, self.env.rank
        )
        dataset = ReidDataset(samples, transform=None)  # type: ignore[arg-type]
        loader = build_train_loader(
            dataset, batches, stage_seed, cfg.data.num_workers, self.device.type == "cuda"
        )
        log.info(
            "stage %s: %d crops of %d identities, %d batches of %d per epoch and rank",
            stage.name,
            len(samples),
            len({s.label for s in samples}),
            len(batches),
            cfg.data.batch_size,
        )
        parts = _StageParts(
            stage,
            net,
            optimizer,
            LRSchedule(cfg.optim, stage.epochs),
            scaler,
            batches,
            dataset,
            loader,
        )
        for epoch in range(first_epoch, stage.epochs):
            self._run_epoch(parts, epoch)

    def _run_epoch(self, parts: _StageParts, epoch: int) -> None:
        cfg, stage, spec = self.config, parts.stage, self.model.spec
        size = stage.size_at(epoch)
        parts.dataset.transform = build_train_transform(
            size, spec.mean, spec.std, cfg.augment, self.seed
        )
        parts.batches.set_epoch(epoch)
        torch.manual_seed(mix_seed(self.seed, stage.index, epoch, self.env.rank))  # dropout
        opts = StepOptions(
            self.device,
            self.precision,
            cfg.train.channels_last,
            cfg.optim.grad_clip,
            cfg.train.max_steps_per_epoch,
            cfg.train.log_every,
            self.env,
        )
        description = f"{stage.name} {epoch + 1}/{stage.epochs} {size[0]}x{size[1]}"
        try:
            stats = train_one_epoch(
                parts.net,
                parts.loader,
                self.objective,
                parts.optimizer,
                parts.schedule,
                epoch,
                opts,
                parts.scaler,
                self.writer,
                self.global_step,
                description,
            )
        except TrainingError as exc:
            last = self.layout.checkpoints / LAST
            kept = last if last.is_file() else "none yet (failed in the first epoch)"
            raise TrainingError(f"{exc}; last good checkpoint: {kept}") from None
        sync_buffers(self.model, self.env)  # BN statistics: the same on every rank
        self.global_step += stats.steps
        self.global_epoch += 1
        metrics = self._validate(stage, epoch, size)
        improved = self._update_best(metrics)
        record = {
            "stage": stage.name,
            "stage_index": stage.index,
            "epoch": epoch + 1,
            "global_epoch": self.global_epoch,
            "global_step": self.global_step,
            "input_size": list(size),
            **stats.as_dict(),
            "val": metrics,
        }
        if self.env.is_main:
            self._save(parts, epoch, size, record, improved)
        self.writer.record(record)
        scalars = {f"epoch/{k}": float(v) for k, v in stats.as_dict().items() if v is not None}
        scalars |= {f"val/{k}": float(v) for k, v in (metrics or {}).items()}
        self.writer.scalars(self.global_epoch, scalars)
        self.history.append(record)
        log.info(
            "%s: loss %.4f, acc %s, %.1f img/s, %.1f s%s",
            description,
            stats.loss,
            "-" if stats.accuracy is None else f"{stats.accuracy:.3f}",
            stats.images_per_s,
            stats.seconds,
            "" if metrics is None else f", val {cfg.val.metric} {metrics[cfg.val.metric]:.4f}",
        )
        barrier(self.env)

    def _validate(self, stage: Stage, epoch: int, size: tuple[int, int]) -> dict[str, float] | None:
        every = self.config.val.every
        due = every and ((epoch + 1) % every == 0 or epoch + 1 == stage.epochs)
        if self.validate is None or not due:
            return None
        metrics = None
        if self.env.is_main:
            context = ValContext(
                stage.index, stage.name, epoch, self.global_epoch, size, self.device
            )
            self.model.eval()
            with torch.no_grad():
                metrics = {k: float(v) for k, v in self.validate(self.model, context).items()}
            self.model.train()
            if self.config.val.metric not in metrics:
                raise TrainingError(
                    f"the validation callback returned {sorted(metrics)}, not val.metric "
                    f"'{self.config.val.metric}'"
                )
        return broadcast(metrics, self.env)

    def _update_best(self, metrics: dict[str, float] | None) -> bool:
        """True when this epoch's checkpoint becomes ``best.pt``."""
        name = self.config.val.metric
        if metrics is None:
            return self.validate is None or not self.config.val.every
        value = metrics[name]
        if self.best.get("value") is None or value > self.best["value"]:
            self.best = {"metric": name, "value": value, "global_epoch": self.global_epoch}
            return True
        return False

    def _save(
        self,
        parts: _StageParts,
        epoch: int,
        size: tuple[int, int],
        record: dict[str, Any],
        improved: bool,
    ) -> None:
        stage, folder = parts.stage, self.layout.checkpoints
        meta = {
            "stage": stage.index,
            "stage_name": stage.name,
            "epoch": epoch + 1,
            "global_epoch": self.global_epoch,
            "global_step": self.global_step,
            "class_signature": self.signature,
            "best": dict(self.best),
            "metrics": record,
        }
        weights = model_entries(self.model, size, self.cfg_dict) | meta
        state = {
            "optimizer": parts.optimizer.state_dict(),
            "scaler": None if parts.scaler is None else parts.scaler.state_dict(),
            "sampler": parts.batches.state_dict(),
            "rng": rng_state(),
        }
        save_checkpoint(weights | state, folder / LAST)
        if improved:
            save_checkpoint(weights, folder / BEST)
        if epoch + 1 == stage.epochs:
            save_checkpoint(weights, folder / stage_file(stage.index, stage.name))

    def close(self) -> None:
        """Flush TensorBoard."""
        self.writer.close()


@dataclass
class _StageParts:
    """What one stage's epochs share."""

    stage: Stage
    net: nn.Module
    optimizer: torch.optim.Optimizer
    schedule: LRSchedule
    scaler: torch.amp.GradScaler | None
    batches: Any
    dataset: ReidDataset
    loader: Any


def fit(config: RunConfig, validate: ValidateFn | None = None, resume: bool = False) -> FitResult:
    """Train ``config``'s model through its stage plan.

    Args:
        config: the resolved run config (the run lives in ``config.run_dir``).
        validate: called every ``val.every`` epochs (and at the end of every stage) on
            rank 0; its ``val.metric`` entry (higher is better) picks ``best.pt``.
            None: no validation, ``best.pt`` is the last epoch.
        resume: continue from ``checkpoints/last.pt`` (with the same config).

    Returns:
        The :class:`FitResult`.

    Raises:
        ConfigError: bad config values (names the field).
        TrainingError: non-finite loss (the last good checkpoint is kept), a run folder
            that already holds a run without ``resume``, or a checkpoint that does not fit.
    """
    check_validation(config.val)
    if validate is None and config.val.every:
        log.warning("no validation callback: best.pt will be the last epoch")
    session = _Session(config, validate, resume)
    try:
        return session.run()
    finally:
        session.close()


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
