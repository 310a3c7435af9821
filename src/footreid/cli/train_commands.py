"""``footreid train``: a recipe (+ ``--set`` overrides) to a run folder, with validation.

The command composes what the train layer may not import: the validation callback
embeds the validation split with the model being trained (footreid.embed) and scores it
per action (footreid.evaluate), on ``val.split`` -- never the reported split unless the
config says so explicitly.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

import typer

if TYPE_CHECKING:
    from footreid.core.config import RunConfig
    from footreid.train.loop import ValContext, ValidateFn


def build_validator(config: RunConfig) -> ValidateFn:
    """A validation callback: per-action mAP / Rank-1 of ``config.val.split``.

    The split is read once (``val.fraction`` < 1 keeps that share of its actions, drawn
    with the run seed); every call embeds its query and gallery crops with the model
    at the epoch's input size (cosine distance on L2-normalised embeddings, flip TTA per
    ``val.flip_tta``) and scores them with the official per-action protocol.

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
        from footreid.core.errors import ConfigError

        raise ConfigError(f"val.split: '{val.split}' has no labels; validate on valid or test")
    query = eval_set.query
    if val.fraction < 1.0:
        query = subset_by_actions(query, val.fraction, "random", seed=config.train.seed)
    actions = {s.action_idx for s in query}
    samples = [*query, *(s for s in eval_set.gallery if s.action_idx in actions)]

    def validate(model: Any, context: ValContext) -> dict[str, float]:
        spec = model.spec
        embed_model = EmbedModel(
            model=model,
            name=spec.name,
            input_size=tuple(context.input_size),
            mean=tuple(spec.mean),
            std=tuple(spec.std),
            is_cnn=spec.patch_size is None,
            checkpoint=None,
            checkpoint_sha256=None,
        )
        options = EmbedOptions(
            flip_tta=val.flip_tta,
            batch_size=val.batch_size,
            num_workers=config.data.num_workers,
            device=str(context.device),
            precision="fp32",
        )
        features = features_from_samples(embed_model, samples, options)
        result = evaluate_distances(feature_distances(features, "cosine"))
        return {"mAP": float(result.mAP), "rank1": float(result.rank1)}

    return validate


def train_command(
    config: Path = typer.Option(..., "--config", "-c", help="Recipe YAML (configs/recipes/)."),
    overrides: list[str] = typer.Option(
        [], "--set", help="Override a config value, e.g. --set optim.name=sgd (repeatable)."
    ),
    resume: bool = typer.Option(
        False, "--resume", help="Continue the run's checkpoints/last.pt (same config)."
    ),
    no_val: bool = typer.Option(
        False, "--no-val", help="Skip validation (best.pt is then the last epoch)."
    ),
) -> None:
    """Train a model from a recipe: staged schedule, checkpoints, validation on val.split."""
    from rich.console import Console
    from rich.table import Table

    from footreid.core.config import load_config
    from footreid.train.loop import check_validation
    from footreid.train.runner import fit

    cfg = load_config(config, overrides)
    check_validation(cfg.val)
    validate = None if no_val or not cfg.val.every else build_validator(cfg)
    result = fit(cfg, validate, resume=resume)
    table = Table(title=f"run {result.run_dir}")
    for column in ("stage", "epoch", "HxW", "loss", "acc", "img/s", f"val {cfg.val.metric}"):
        table.add_column(column, justify="right")
    for rec in result.history:
        val = rec["val"] or {}
        table.add_row(
            rec["stage"],
            str(rec["epoch"]),
            "x".join(map(str, rec["input_size"])),
            f"{rec['loss']:.4f}",
            "-" if rec["accuracy"] is None else f"{rec['accuracy']:.3f}",
            f"{rec['images_per_s']:.1f}",
            f"{val[cfg.val.metric]:.2%}" if cfg.val.metric in val else "-",
        )
    console = Console()
    console.print(table)
    chosen = "last epoch" if result.best_value is None else f"{result.best_value:.2%}"
    console.print(f"best checkpoint ({cfg.val.metric} on {cfg.val.split}: {chosen}): {result.best}")


def register(app: typer.Typer) -> None:
    """Add the ``train`` command to ``app``."""
    app.command("train")(train_command)
