"""The experiment config: which checkpoints, which dataset split, which methods.

Read with ``footreid.core.config.load_config(path, overrides, ExperimentConfig)``: YAML
recipe (one ``base:`` level) <- ``--set a.b=c`` overrides, strict keys and types.
Relative paths (dataset root, checkpoints, output folder) are relative to the directory
the command runs in.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from footreid.core.errors import ConfigError, FootreidError
from footreid.embed.extract import EmbedOptions
from footreid.evaluate.post_steps import parse_step
from footreid.evaluate.rerank import RERANK_PRESETS

NAME_PATTERN = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]*$")


@dataclass
class DatasetSection:
    """The split the table reports, and where its choices are made.

    Choices (ensemble weights, the ensemble that is re-ranked, the headline method) are
    made on ``tuning_split`` (e.g. valid when reporting on test); or, where no other
    labelled split exists, cross-fitted over ``crossfit_folds`` folds of the reported
    split's actions (``experiment/tuning.py``); with neither, on the reported split
    itself, and results.md says so.
    """

    root: str = "data/synthetic-small"
    split: str = "valid"
    tuning_split: str | None = None
    crossfit_folds: int = 0
    crossfit_seed: int = 0


@dataclass
class ModelSection:
    """One model of the table: a recipe to train, a checkpoint, or a registry model.

    Attributes:
        name: label in the table and in file names (letters, digits, ``_.-``).
        recipe: a training recipe, trained once per seed of the experiment (on the
            experiment's dataset, into ``RUN/train/<name>/seed<k>``; finished runs are
            reused); its rows are reported as mean and std over the seeds.
        overrides: ``a.b=c`` values applied to ``recipe`` after the experiment's own
            (``data.root`` = the experiment's dataset, unless overridden here: a model
            may train on other data, e.g. synthetic, and be evaluated on this one);
            ``{seed}`` in a value becomes the seed (e.g. to start from the same seed's
            run of an earlier model: ``model.pretrained=RUN/train/a/seed{seed}/...``).
        checkpoint: a file written by ``footreid train``.
        model: a registry name (instead of ``checkpoint``), with ``pretrained`` weights.
        pretrained: a weights file or tag for ``model``; "none" only for a parameter-free
            model (``hsv``, ``lab``): random weights are not reproducible, so they cannot
            be cached or compared.
        options: the family options of ``model`` (``{parts: 2}``); a checkpoint records
            its own.
        train_run: the training run directory (for the report's curves); inferred from
            ``<run>/checkpoints/<file>`` when None.
        input_size: [H, W] override of the size the model was trained at (logged).
    """

    name: str = ""
    recipe: str | None = None
    overrides: list[str] = field(default_factory=list)
    checkpoint: str | None = None
    model: str | None = None
    pretrained: str = "none"
    options: dict[str, Any] = field(default_factory=dict)
    train_run: str | None = None
    input_size: list[int] | None = None


@dataclass
class MethodsSection:
    """Which rows the table has besides the single models.

    Attributes:
        metric: distance of every model (cosine on L2-normalised features).
        members: the models that concatenation, averaging and the weight search combine
            (default: all; e.g. leave out ablation variants).
        concat: feature concatenation of the members.
        average: equal-weight distance averaging of the members.
        weighted: weighted averages, each a mapping model name -> weight (e.g. the
            reference system's ``{osnet: 0.6, resnet: 0.2, dino: 0.2}``).
        search_weights: with a tuning split, also grid-search the weights on it.
        weight_step: grid spacing of that search.
        rerank: re-ranking presets (or ``k1,k2,lambda``) applied to the best ensemble.
        query_expansion: k of average query expansion applied to the best ensemble.
        centre: every row compares centred features: ``action`` (each crop minus the
            mean feature of its action) or ``view`` (the action's queries and its gallery
            each minus their own mean), see ``footreid.evaluate.centring``; ``none``,
            ``off`` or null: off (``footreid.evaluate.post_steps.parse_step``).
        bootstrap: resamples of the 95 % intervals (bootstrap over actions; 0: none).
        bootstrap_seed: seed of those resamples.
        compare: pairs ``[A, B]`` of row slugs (a model's single row is its name) whose
            paired difference B - A is reported, besides the headline against each
            single model.
    """

    metric: Literal["cosine", "euclidean", "sqeuclidean"] = "cosine"
    members: list[str] = field(default_factory=list)
    concat: bool = True
    average: bool = True
    weighted: list[dict[str, float]] = field(default_factory=list)
    search_weights: bool = True
    weight_step: float = 0.1
    rerank: list[str] = field(default_factory=lambda: list(RERANK_PRESETS))
    query_expansion: int | None = None
    centre: str | None = "none"
    bootstrap: int = 1000
    bootstrap_seed: int = 0
    compare: list[list[str]] = field(default_factory=list)


@dataclass
class ExperimentConfig:
    """Root of an experiment; its run directory is ``output_dir/name``.

    ``seeds``: training seeds of the ``recipe`` models; the whole table (choices
    included) is computed once per seed and reported as mean and std over them.
    """

    name: str = "experiment"
    output_dir: str = "runs/experiments"
    seeds: list[int] = field(default_factory=lambda: [0])
    dataset: DatasetSection = field(default_factory=DatasetSection)
    models: list[ModelSection] = field(default_factory=list)
    embed: EmbedOptions = field(default_factory=EmbedOptions)
    methods: MethodsSection = field(default_factory=MethodsSection)

    @property
    def run_dir(self) -> Path:
        """``output_dir / name``."""
        return Path(self.output_dir) / self.name


def validate(config: ExperimentConfig) -> None:
    """Check what the types cannot: names, sources, weights, splits.

    Raises:
        ConfigError: naming the field, the problem and the fix.
    """
    if not config.models:
        raise ConfigError("models: the experiment lists no model; add checkpoints under models")
    names = [m.name for m in config.models]
    for i, m in enumerate(config.models):
        where = f"models.{i}"
        if not NAME_PATTERN.match(m.name):
            raise ConfigError(f"{where}.name: '{m.name}' must be letters, digits, '_', '.', '-'")
        if sum(v is not None for v in (m.recipe, m.checkpoint, m.model)) != 1:
            raise ConfigError(
                f"{where}: give exactly one of recipe, checkpoint or model (+ pretrained)"
            )
        if m.overrides and m.recipe is None:
            raise ConfigError(f"{where}.overrides: they apply to a recipe; give recipe")
        if m.recipe is not None and not Path(m.recipe).is_file():
            raise ConfigError(f"{where}.recipe: {m.recipe} not found")
        if m.model is not None:
            _check_registry_model(m, where)
        elif m.options:
            raise ConfigError(
                f"{where}.options: a checkpoint records its model options; drop options"
            )
    if len(set(names)) != len(names):
        raise ConfigError(f"models: names must be unique, got {names}")
    for i, weights in enumerate(config.methods.weighted):
        unknown = sorted(set(weights) - set(names))
        if unknown or len(weights) < 2:
            raise ConfigError(
                f"methods.weighted.{i}: needs >= 2 of the models {names} as keys, got "
                f"{sorted(weights)}"
            )
    _check_post_steps(config.methods)
    _check_dataset(config.dataset)
    _check_seeds(config)
    unknown = sorted(set(config.methods.members) - set(names))
    if unknown:
        raise ConfigError(f"methods.members: {unknown} are not models of the experiment {names}")
    for i, pair in enumerate(config.methods.compare):
        if len(pair) != 2 or pair[0] == pair[1]:
            raise ConfigError(f"methods.compare.{i}: two different row slugs [A, B], got {pair}")
    if config.methods.bootstrap < 0:
        raise ConfigError(f"methods.bootstrap: resamples >= 0, got {config.methods.bootstrap}")


def _check_post_steps(methods: MethodsSection) -> None:
    """Post-step values through their registered parsers, errors naming the field.

    ``centre`` may be off (none/off/null); the re-rankings listed and a query expansion k
    name rows to add, so an "off" spelling there is refused rather than read as off.
    """
    _parse_field("centre", "centre", methods.centre)
    rows = [(f"rerank.{i}", "rerank", v) for i, v in enumerate(methods.rerank)]
    if methods.query_expansion is not None:
        rows.append(("query_expansion", "query_expansion", methods.query_expansion))
    for field_name, step, value in rows:
        if _parse_field(field_name, step, value) is None:
            raise ConfigError(
                f"methods.{field_name}: {value!r} adds no row; remove it (an empty list, or "
                "null, adds none)"
            )


def _parse_field(field_name: str, step: str, value: Any) -> Any:
    try:
        return parse_step(step, value)
    except ConfigError as exc:
        raise ConfigError(f"methods.{field_name}: {exc}") from None


def _check_dataset(ds: DatasetSection) -> None:
    if ds.tuning_split is not None and ds.tuning_split == ds.split:
        raise ConfigError(
            f"dataset.tuning_split: '{ds.tuning_split}' is the reported split; tune on "
            "another split (e.g. valid, reporting on test), cross-fit (crossfit_folds: 2) "
            "or set it to null"
        )
    if ds.crossfit_folds == 1 or ds.crossfit_folds < 0:
        raise ConfigError(f"dataset.crossfit_folds: 0 (off) or >= 2, got {ds.crossfit_folds}")
    if ds.crossfit_folds and ds.tuning_split is not None:
        raise ConfigError(
            "dataset: give tuning_split or crossfit_folds, not both (cross-fitting is for "
            "data without another labelled split)"
        )


def _check_seeds(config: ExperimentConfig) -> None:
    seeds = config.seeds
    if not seeds or len(set(seeds)) != len(seeds) or min(seeds) < 0:
        raise ConfigError(f"seeds: distinct non-negative integers, at least one; got {seeds}")
    if len(seeds) > 1 and not any(m.recipe for m in config.models):
        raise ConfigError(
            f"seeds: {seeds} but no model has a recipe to train per seed; keep one seed"
        )


def _check_registry_model(m: ModelSection, where: str) -> None:
    """Name and options build (on the meta device); weights exactly when there are parameters."""
    from footreid.models import model_spec

    model = str(m.model)
    try:
        spec = model_spec(model, **m.options)
    except FootreidError as exc:
        raise ConfigError(f"{where}: {exc}") from None
    if spec.parameter_free and m.pretrained != "none":
        raise ConfigError(
            f"{where}.pretrained: model '{model}' has no parameters, hence no weights; "
            "drop pretrained (or set it to none)"
        )
    if not spec.parameter_free and m.pretrained == "none" and "." not in model:
        raise ConfigError(
            f"{where}.pretrained: model '{model}' needs weights (a file or a tag); "
            "random weights are not reproducible, train a checkpoint instead"
        )


def slugify(text: str) -> str:
    """File-name-safe lower-case form: runs of other characters become ``_``."""
    slug = re.sub(r"[^a-z0-9_.-]+", "_", text.lower()).strip("_")
    return slug or "method"
