"""``footreid quickstart``: synthetic data -> three trained models -> results table -> report.

One call, offline and on a CPU, runs the whole pipeline on the synthetic ``small`` set:
the three model families, ensembles and re-ranking of ``docs/protocol.md`` ("The
reference system"), in miniature. Folders (:class:`~footreid.core.layout.QuickstartLayout`):

1. generate the dataset under ``OUT/synthetic-<preset>`` (reused when it is already there);
2. train the three model families from the recipes ``configs/recipes/synthetic_small_*.yaml``
   (OSNet-AIN, ResNet-50, a DINOv2-style ViT), from pretrained weights when they are
   available locally (``$FOOTREID_HOME/weights``; nothing is downloaded), otherwise from
   scratch; a finished run is skipped, an interrupted one resumed;
3. the experiment: embed valid and test (features cached by checkpoint hash), single
   models, concatenation, equal and weighted averaging, weights searched on valid,
   the four re-ranking presets on the ensemble chosen on valid; reported on test;
4. the HTML report.

Recipes are found in ``recipes_dir``, else ``configs/recipes`` of the source tree the
package was installed from (``pip install -e .``, the README's set-up), else of the
current directory.
"""

from __future__ import annotations

import contextlib
import os
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from footreid.core.config import RunConfig, load_config
from footreid.core.errors import ConfigError, WeightsError
from footreid.core.layout import ExperimentLayout, QuickstartLayout
from footreid.core.log import get_logger
from footreid.data.synthetic import generate
from footreid.embed.extract import EmbedOptions
from footreid.experiment import (
    DatasetSection,
    ExperimentConfig,
    MethodsSection,
    ModelSection,
    run_experiment,
)
from footreid.experiment.training import train_or_reuse
from footreid.models import create_model
from footreid.report import build_report

log = get_logger(__name__)

RECIPES_SUBDIR = Path("configs") / "recipes"
SOURCE_ROOT = Path(__file__).resolve().parents[2]
"""The repository root when the package runs from a source tree (editable install)."""


@dataclass(frozen=True)
class QuickstartModel:
    """One model family of the quickstart.

    Attributes:
        label: name in the results table and of the training run.
        recipe: file name in the recipes folder.
        scratch_overrides: ``--set`` values applied when no pretrained weights are
            available locally (e.g. LoRA adapters on a random frozen backbone cannot
            learn, so the ViT then trains whole).
        weight: weight in the reference system's weighted average (0.6 on OSNet-AIN, the
            strongest single model there; ``docs/protocol.md``).
    """

    label: str
    recipe: str
    scratch_overrides: tuple[str, ...] = ()
    weight: float = 0.2


MODELS: tuple[QuickstartModel, ...] = (
    QuickstartModel("osnet_ain", "synthetic_small_osnet_ain.yaml", weight=0.6),
    QuickstartModel("resnet50", "synthetic_small_resnet50.yaml"),
    QuickstartModel("vit_lora", "synthetic_small_vit_lora.yaml", ("model.options.lora=false",)),
)


@dataclass
class QuickstartOptions:
    """What ``run_quickstart`` does.

    Attributes:
        out: folder of everything the quickstart writes.
        preset: synthetic preset (``tiny`` for tests, ``small`` for the quickstart).
        seed: dataset seed (training seeds come from the recipes).
        recipes_dir: folder holding the recipes (None: see the module docstring).
        overrides: ``--set a.b=c`` values applied to every recipe (e.g. fewer epochs).
        pretrained: ``auto`` (the recipe's weights when available locally, else
            scratch) or ``none`` (always from scratch).
        synth_workers: processes rendering the dataset.
    """

    out: Path = Path("runs/quickstart")
    preset: str = "small"
    seed: int = 0
    recipes_dir: Path | None = None
    overrides: Sequence[str] = ()
    pretrained: str = "auto"
    synth_workers: int = 2


@dataclass
class TrainedModel:
    """A trained model of the quickstart and how it was obtained."""

    label: str
    model: str
    checkpoint: Path
    init: str
    status: str
    seconds: float


@dataclass
class QuickstartResult:
    """What the quickstart produced (paths are under ``options.out``)."""

    dataset: Path
    models: list[TrainedModel]
    run_dir: Path
    results_md: Path
    report: Path
    steps: dict[str, float] = field(default_factory=dict)


def find_recipes(recipes_dir: str | Path | None = None) -> Path:
    """The folder of the quickstart recipes (see the module docstring for the order)."""
    candidates = (
        [Path(recipes_dir)]
        if recipes_dir is not None
        else [SOURCE_ROOT / RECIPES_SUBDIR, Path.cwd() / RECIPES_SUBDIR]
    )
    for folder in candidates:
        if all((folder / m.recipe).is_file() for m in MODELS):
            return folder
    wanted = ", ".join(m.recipe for m in MODELS)
    raise ConfigError(
        f"quickstart recipes ({wanted}) not found in {', '.join(map(str, candidates))}; "
        "install footreid from its source tree (pip install -e .) or pass --recipes DIR"
    )


@contextlib.contextmanager
def _offline() -> Iterator[None]:
    """Forbid downloads while probing for local weights (restores the environment)."""
    saved = os.environ.get("FOOTREID_OFFLINE")
    os.environ["FOOTREID_OFFLINE"] = "1"
    try:
        yield
    finally:
        if saved is None:
            os.environ.pop("FOOTREID_OFFLINE", None)
        else:
            os.environ["FOOTREID_OFFLINE"] = saved


def local_weights(config: RunConfig) -> str | None:
    """``config.model.pretrained`` when its weights load without a download, else None."""
    wanted = config.model.pretrained
    if wanted == "none":
        return None
    try:
        with _offline():
            create_model(config.model.name, 0, wanted, **config.model.options)
    except WeightsError as exc:
        log.info("%s: no local '%s' weights (%s)", config.model.name, wanted, exc.args[0][:120])
        return None
    return wanted


def _resolve_config(
    entry: QuickstartModel, recipes: Path, dataset: Path, options: QuickstartOptions
) -> tuple[RunConfig, str]:
    """The recipe with the quickstart's paths, and how the model is initialised."""
    base = [
        f"data.root={dataset.resolve()}",
        f"output_dir={QuickstartLayout(options.out).train.resolve()}",
        f"name={entry.label}",
        *options.overrides,
    ]
    config = load_config(recipes / entry.recipe, base)
    weights = None if options.pretrained == "none" else local_weights(config)
    if weights is not None:
        return config, f"pretrained ({weights})"
    scratch = [*base, "model.pretrained=none", *entry.scratch_overrides]
    note = "from scratch (no local pretrained weights)"
    if options.pretrained == "none":
        note = "from scratch (--pretrained none)"
    if entry.scratch_overrides:
        note += "; " + ", ".join(entry.scratch_overrides)
    return load_config(recipes / entry.recipe, scratch), note


def train_model(
    entry: QuickstartModel, recipes: Path, dataset: Path, options: QuickstartOptions
) -> TrainedModel:
    """Train one model (skipped when finished, resumed when interrupted)."""
    config, init = _resolve_config(entry, recipes, dataset, options)
    log.info("%s: %s, %s -> %s", entry.label, config.model.name, init, config.run_dir)
    run = train_or_reuse(config, validate=False)
    return TrainedModel(
        entry.label, config.model.name, run.checkpoint, init, run.status, run.seconds
    )


def experiment_config(
    out: Path, dataset: Path, trained: Sequence[TrainedModel], weights: Sequence[float]
) -> ExperimentConfig:
    """The experiment: reported on test, every choice made on valid (never on test)."""
    return ExperimentConfig(
        name=QuickstartLayout.EXPERIMENT,
        output_dir=str(out),
        dataset=DatasetSection(root=str(dataset.resolve()), split="test", tuning_split="valid"),
        models=[ModelSection(name=m.label, checkpoint=str(m.checkpoint)) for m in trained],
        embed=EmbedOptions(flip_tta=True, batch_size=64, num_workers=0, precision="auto"),
        methods=MethodsSection(
            metric="cosine",
            weighted=[{m.label: float(w) for m, w in zip(trained, weights, strict=True)}],
            search_weights=True,
            weight_step=0.1,
        ),
    )


def run_quickstart(options: QuickstartOptions | None = None) -> QuickstartResult:
    """Run the whole quickstart (see the module docstring); re-running reuses its work.

    Returns:
        The :class:`QuickstartResult` (dataset, trained models, experiment run, report).
    """
    options = options or QuickstartOptions()
    recipes = find_recipes(options.recipes_dir)
    steps: dict[str, float] = {}
    total = 3 + len(MODELS)

    t = time.perf_counter()
    log.info("[1/%d] synthetic '%s' dataset (seed %d)", total, options.preset, options.seed)
    dataset = QuickstartLayout(options.out).dataset(options.preset)
    generate(dataset, options.preset, options.seed, workers=options.synth_workers)
    steps["synthetic data"] = time.perf_counter() - t

    trained = []
    for i, entry in enumerate(MODELS):
        log.info("[%d/%d] model %s (%s)", i + 2, total, entry.label, entry.recipe)
        trained.append(train_model(entry, recipes, dataset, options))
        steps[f"train {entry.label}"] = trained[-1].seconds

    t = time.perf_counter()
    log.info("[%d/%d] experiment: embed, evaluate, ensembles, re-ranking", total - 1, total)
    weights = [m.weight for m in MODELS]
    run_dir = run_experiment(experiment_config(options.out, dataset, trained, weights))
    steps["experiment"] = time.perf_counter() - t

    t = time.perf_counter()
    log.info("[%d/%d] report", total, total)
    report = build_report(run_dir)
    steps["report"] = time.perf_counter() - t
    results_md = ExperimentLayout(run_dir).results_md
    return QuickstartResult(dataset, trained, run_dir, results_md, report, steps)
