"""The experiment runner: recipes and checkpoints -> features -> the whole results table.

For every training seed: train the ``recipe`` models (finished runs reused), embed every
model on the reported split (and the tuning split), build the seed's table
(:mod:`.rows`: every choice made on the tuning queries, :mod:`.tuning`); then combine
the seeds (:mod:`.aggregate`: mean and std over seeds, 95 % intervals over actions,
paired differences of the headline) and write ``results.json`` and ``results.md``.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import replace
from pathlib import Path
from typing import Any

from footreid.core.config import load_config, save_config
from footreid.core.errors import ConfigError
from footreid.core.layout import ExperimentLayout, RunLayout
from footreid.core.log import get_logger, track
from footreid.core.publish import publishable_path
from footreid.core.records import FeatureSet
from footreid.evaluate.distances import EvalSplit
from footreid.evaluate.per_query import per_query_rows, write_per_query_csv
from footreid.experiment import results as out
from footreid.experiment.aggregate import TableRow, add_intervals, aggregate, compare
from footreid.experiment.cache import EmbeddedModel, FeatureCache
from footreid.experiment.config import ExperimentConfig, ModelSection, validate
from footreid.experiment.rows import SeedTable, seed_table
from footreid.experiment.training import train_or_reuse
from footreid.experiment.tuning import Tuning

log = get_logger(__name__)


def load_experiment(path: str | Path, overrides: Sequence[str] = ()) -> ExperimentConfig:
    """Read an experiment YAML (with ``--set a.b=c`` overrides) into a checked config."""
    config = load_config(path, overrides, schema=ExperimentConfig)
    validate(config)
    return config


def infer_train_run(entry: ModelSection) -> str | None:
    """``entry.train_run``, else ``<run>`` for a checkpoint in ``<run>/checkpoints/``."""
    if entry.train_run is not None:
        return str(Path(entry.train_run).resolve())
    if entry.checkpoint is None:
        return None
    folder = Path(entry.checkpoint).resolve().parent
    run = RunLayout(folder.parent)
    if folder == run.checkpoints and run.config.is_file():
        return str(run.root)
    return None


def _recorded(path: str | Path | None, run_dir: Path) -> str | None:
    """A path as results.json and results.md record it: relative to the run, or a name.

    Readers resolve it against the run folder (``ExperimentLayout.resolve``).
    """
    if path is None:
        return None
    return publishable_path(Path(path).resolve(), Path(run_dir).resolve())


def tuning_of(config: ExperimentConfig) -> Tuning:
    """Where the experiment's choices are made (see :mod:`.tuning`)."""
    ds = config.dataset
    if ds.tuning_split is not None:
        return Tuning("split", tuning_split=ds.tuning_split)
    if ds.crossfit_folds:
        return Tuning("crossfit", folds=ds.crossfit_folds, seed=ds.crossfit_seed)
    return Tuning("none")


def train_recipes(config: ExperimentConfig) -> dict[int, list[ModelSection]]:
    """The models of every seed: each ``recipe`` entry trained (or reused) for that seed."""
    ds, layout = config.dataset, ExperimentLayout(config.run_dir)
    per_seed: dict[int, list[ModelSection]] = {}
    for seed in config.seeds:
        entries = []
        for entry in config.models:
            if entry.recipe is None:
                entries.append(entry)
                continue
            run_config = load_config(
                entry.recipe,
                [
                    f"data.root={Path(ds.root).resolve()}",  # overrides may train elsewhere
                    f"output_dir={layout.train_dir(entry.name).resolve()}",
                    f"name={layout.seed_run(seed)}",
                    *(o.replace("{seed}", str(seed)) for o in entry.overrides),
                    f"train.seed={seed}",
                ],
            )
            log.info("%s, seed %d: recipe %s", entry.name, seed, entry.recipe)
            # no validation: best.pt is the recipe's last epoch, chosen on nothing
            trained = train_or_reuse(run_config, validate=False)
            entries.append(replace(entry, recipe=None, checkpoint=str(trained.checkpoint)))
        per_seed[seed] = entries
    return per_seed


def _embed(
    models: Mapping[int, list[ModelSection]], cache: FeatureCache, split: str, seeded: set[str]
) -> dict[int, dict[str, EmbeddedModel]]:
    """Features of every (seed, model) on ``split`` (seed-free models embedded once)."""
    out: dict[int, dict[str, EmbeddedModel]] = {}
    done: dict[str, EmbeddedModel] = {}
    for seed, entries in models.items():
        out[seed] = {}
        for entry in track(entries, f"features ({split}, seed {seed})", total=len(entries)):
            if entry.name in seeded:
                name = ExperimentLayout.seed_features(entry.name, seed)
                out[seed][entry.name] = cache.get(entry, split, file_name=name)
            else:
                done.setdefault(entry.name, cache.get(entry, split))
                out[seed][entry.name] = done[entry.name]
    first = next(iter(next(iter(out.values())).values())).features
    if not EvalSplit.from_features(first).labelled:
        raise ConfigError(
            f"dataset.split '{split}' has no identity labels (challenge split?): an experiment "
            "measures mAP; embed it and use `footreid evaluate --export-ranking` instead"
        )
    return out


def _features(embedded: Mapping[str, EmbeddedModel]) -> dict[str, FeatureSet]:
    return {name: e.features for name, e in embedded.items()}


def _model_entries(
    config: ExperimentConfig,
    models: Mapping[int, list[ModelSection]],
    embedded: Mapping[int, Mapping[str, EmbeddedModel]],
) -> tuple[list[dict[str, Any]], list[str]]:
    """results.json ``models`` and the results.md model lines (first seed's files)."""
    run_dir, first = config.run_dir, config.seeds[0]
    entries, lines = [], []
    for i, m in enumerate(config.models):
        emb = embedded[first][m.name]
        used = models[first][i]
        checkpoint = None if used.checkpoint is None else _recorded(used.checkpoint, run_dir)
        by_seed = {
            str(s): embedded[s][m.name].path.relative_to(run_dir).as_posix() for s in embedded
        }
        entries.append(
            {
                "name": m.name,
                "checkpoint": checkpoint,
                "features": emb.path.relative_to(run_dir).as_posix(),
                "features_by_seed": by_seed,
                "train_run": _recorded(infer_train_run(used), run_dir),
            }
        )
        source = (
            f"recipe `{m.recipe}`, seeds {', '.join(map(str, config.seeds))}"
            if m.recipe
            else f"`{checkpoint}`"
            if checkpoint
            else f"{m.model} (pretrained `{m.pretrained}`)"
        )
        meta = emb.features.meta
        size = "x".join(str(v) for v in meta.get("input_size", []))
        timing = f"{'cached, ' if emb.cached else ''}{emb.seconds:.1f} s"
        lines.append(
            f"| {m.name} | {source} | {size} | {meta.get('flip_tta')} | "
            f"{meta.get('precision')} | {timing} |"
        )
    return entries, lines


def _write_csvs(run_dir: Path, rows: Sequence[TableRow]) -> dict[str, Path]:
    """Per-query CSV of every row (its first seed)."""
    layout = ExperimentLayout(run_dir)
    return {
        row.slug: write_per_query_csv(
            layout.per_query_csv(row.slug), per_query_rows(row.per_seed[0].result)
        )
        for row in rows
    }


def run_experiment(config: ExperimentConfig | str | Path) -> Path:
    """Train, embed (cached), evaluate every method over every seed and write the results.

    Args:
        config: an :class:`ExperimentConfig`, or the path of its YAML file.

    Returns:
        The run directory, holding ``config.yaml``, ``train/<model>/seed<k>/`` (recipe
        models), ``features/<model>[.seed<k>]__<split>.npz``, ``per_query/<slug>.csv``,
        ``results.json`` and ``results.md``.
    """
    if not isinstance(config, ExperimentConfig):
        config = load_experiment(config)
    validate(config)
    ds, run_dir, tuning = config.dataset, config.run_dir, tuning_of(config)
    layout = ExperimentLayout(run_dir)
    layout.per_query.mkdir(parents=True, exist_ok=True)
    save_config(config, layout.config)
    models = train_recipes(config)
    seeded = {m.name for m in config.models if m.recipe is not None}
    cache = FeatureCache(run_dir, ds.root, config.embed)
    reported = _embed(models, cache, ds.split, seeded)
    tuned = _embed(models, cache, ds.tuning_split, seeded) if ds.tuning_split else None
    tables: dict[int, SeedTable] = {}
    for seed in config.seeds:
        tuning_features = None if tuned is None else _features(tuned[seed])
        tables[seed] = seed_table(config, _features(reported[seed]), tuning_features, tuning)
    rows, best_key = aggregate(tables)
    m = config.methods
    comparisons = []
    if m.bootstrap > 0:
        add_intervals(rows, m.bootstrap, m.bootstrap_seed)
        best_row = next(r for r in rows if r.key == best_key)
        pairs = [(r, best_row) for r in rows if r.key.startswith("single:") and r is not best_row]
        by_slug = {r.slug: r for r in rows}
        for a, b in m.compare:
            missing = [s for s in (a, b) if s not in by_slug]
            if missing:
                raise ConfigError(f"methods.compare: no row {missing}; rows: {', '.join(by_slug)}")
            pairs.append((by_slug[a], by_slug[b]))
        comparisons = [compare(a, b, m.bootstrap, m.bootstrap_seed) for a, b in pairs]
    _write(config, tuning, models, reported, rows, best_key, tables, comparisons)
    log.info("results: %s", layout.results_md)
    return run_dir


def _write(
    config: ExperimentConfig,
    tuning: Tuning,
    models: Mapping[int, list[ModelSection]],
    reported: Mapping[int, Mapping[str, EmbeddedModel]],
    rows: list[TableRow],
    best_key: str,
    tables: Mapping[int, SeedTable],
    comparisons: list,
) -> None:
    ds, run_dir = config.dataset, config.run_dir
    csvs = _write_csvs(run_dir, rows)
    best = next(r for r in rows if r.key == best_key)
    chosen_on = tuning.describe(ds.split)
    entries, model_lines = _model_entries(config, models, reported)
    dataset = {
        "root": _recorded(ds.root, run_dir),
        "split": ds.split,
        "tuning_split": ds.tuning_split,
    }
    document = {
        "dataset": dataset,
        "tuning": {
            "mode": tuning.mode,
            "folds": tuning.folds,
            "seed": tuning.seed,
            "description": chosen_on,
        },
        "seeds": list(config.seeds),
        "models": entries,
        "methods": [out.row_json(r, run_dir, csvs[r.slug]) for r in rows],
        "best_method": best.slug,
        "best_chosen_on": chosen_on,
        "comparisons": [out.comparison_json(c) for c in comparisons],
    }
    out.write_results_json(run_dir, document)
    several = len(tables) > 1
    notes = list(
        dict.fromkeys(
            f"Seed {seed}: {note}" if several else note
            for seed, table in tables.items()
            for note in table.notes
        )
    )
    out.write_results_md(
        run_dir,
        _sections(config, model_lines, rows, best, chosen_on, notes, comparisons),
        f"Experiment `{config.name}`",
    )


def _sections(
    config: ExperimentConfig,
    model_lines: list[str],
    rows: list[TableRow],
    best: TableRow,
    chosen_on: str,
    notes: list[str],
    comparisons: list,
) -> dict[str, list[str]]:
    """The sections of results.md."""
    ds = config.dataset
    tuning = ds.tuning_split or (
        f"cross-fitted ({ds.crossfit_folds} folds)" if ds.crossfit_folds else "none"
    )
    sections = {
        "": [
            f"Dataset `{_recorded(ds.root, config.run_dir)}`, reported split **{ds.split}**, "
            f"tuning split **{tuning}**; {chosen_on}.",
        ],
        "Models": [
            "| model | source | input size | flip TTA | precision | embedding |",
            "| --- | --- | --- | --- | --- | --- |",
            *model_lines,
        ],
        "Results": [
            f"mAP and CMC in %, measured per action; {_spread(config)}; 95 % CI: bootstrap over "
            f"actions ({config.methods.bootstrap} resamples) of the seed-averaged values.",
            "",
            *out.results_table(rows, best.slug),
            "",
            f"Headline: **{best.name}** (`{best.slug}`), chosen by mAP on the tuning queries "
            f"({chosen_on}), never as the maximum of this table.",
        ],
        "Per class of the query (mAP / Rank-1, %)": out.class_table(rows),
    }
    if comparisons:
        sections["Paired differences"] = [
            "The headline (B) against each single model (A), then the configured pairs: "
            "B - A in points on the same queries (seed-averaged), 95 % CI over the same "
            "resampled actions; p(<= 0): share of resamples where B does not beat A.",
            "",
            *out.comparison_lines(comparisons),
        ]
    sections["Notes"] = [f"* {n}" for n in (*notes, *STANDING_NOTES)]
    return sections


STANDING_NOTES = (
    "Concatenation of L2-normalised features ranks exactly like equal-weight averaging of "
    "cosine (or squared-Euclidean) distances.",
    "CMC values are measured from the per-action rankings, never estimated.",
    "Recipe models are trained without validation: their checkpoint is the last epoch of "
    "the recipe's fixed schedule, chosen on nothing.",
)
"""The notes every results.md ends with."""


def _spread(config: ExperimentConfig) -> str:
    """How rows vary over the training seeds, for the Results section."""
    seeds = ", ".join(map(str, config.seeds))
    if len(config.seeds) > 1:
        return f"mean ± std over the training seeds ({seeds}) where a row depends on them"
    return f"one training seed ({seeds}): no spread over seeds"
