"""The experiment runner: checkpoints -> features -> every row of the results table.

Rows: each single model; with two models or more, feature concatenation, equal-weight
distance averaging, the configured weighted averages and (with a tuning split) weights
searched on the tuning split; then the re-ranking presets (and optionally query
expansion) on the best ensemble, chosen on the tuning split when there is one.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import replace
from pathlib import Path
from typing import Any

from footreid.core.config import load_config, save_config
from footreid.core.errors import ConfigError
from footreid.core.log import get_logger, track
from footreid.core.records import FeatureSet
from footreid.evaluate.distances import EvalSplit
from footreid.evaluate.methods import (
    MethodSpec,
    evaluate_method,
    per_query_rows,
    tune_weights,
    write_per_query_csv,
)
from footreid.experiment.cache import EmbeddedModel, FeatureCache
from footreid.experiment.config import ExperimentConfig, ModelSection, slugify, validate
from footreid.experiment.results import MethodRow, write_results_json, write_results_md

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
    run = folder.parent
    if folder.name == "checkpoints" and (run / "config.yaml").is_file():
        return str(run)
    return None


class _Table:
    """Evaluated rows with unique slugs, per-query CSVs written as they come."""

    def __init__(self, run_dir: Path, features: Mapping[str, FeatureSet]) -> None:
        self.run_dir, self.features = run_dir, features
        self.rows: list[MethodRow] = []

    def add(self, spec: MethodSpec, slug: str, note: str = "") -> MethodRow:
        taken = {r.slug for r in self.rows}
        base, n = slugify(slug), 1
        slug = base
        while slug in taken:
            n += 1
            slug = f"{base}_{n}"
        result = evaluate_method(spec, self.features)
        csv = write_per_query_csv(
            self.run_dir / "per_query" / f"{slug}.csv", per_query_rows(result)
        )
        row = MethodRow(slug, result, csv, note)
        self.rows.append(row)
        log.info(
            "%-40s mAP %.2f%%  Rank-1 %.2f%%",
            spec.name,
            100 * result.result.mAP,
            100 * result.result.rank1,
        )
        return row


def _ensemble_specs(config: ExperimentConfig, names: list[str]) -> list[tuple[MethodSpec, str]]:
    """(spec, slug) of the configured ensembles of all models (none with one model)."""
    metric, out = config.methods.metric, []
    if len(names) >= 2 and config.methods.concat:
        out.append((MethodSpec("concat", "concat", names, None, metric), "concat"))
    if len(names) >= 2 and config.methods.average:
        out.append((MethodSpec("average (equal)", "average", names, None, metric), "average"))
    for weights in config.methods.weighted:
        members = [n for n in names if n in weights]
        ws = [float(weights[n]) for n in members]
        label = "/".join(f"{w:g}" for w in ws)
        slug = "weighted_" + "_".join(f"{w:g}" for w in ws)
        out.append((MethodSpec(f"weighted {label}", "average", members, ws, metric), slug))
    return out


def _tuned_spec(
    config: ExperimentConfig, names: list[str], tuning: Mapping[str, FeatureSet]
) -> tuple[MethodSpec, str]:
    """Average with weights searched on the tuning split."""
    ds, m = config.dataset, config.methods
    spec = MethodSpec("weighted (tuned)", "average", names, None, m.metric)
    tuned, search = tune_weights(spec, tuning, m.weight_step)
    label = "/".join(f"{w:g}" for w in search.weights)
    pairs = ", ".join(f"{n} {w:g}" for n, w in zip(names, search.weights, strict=True))
    note = f"Weights searched on {ds.tuning_split} (grid step {m.weight_step:g}): {pairs}; "
    note += f"their {ds.tuning_split} mAP {100 * search.tune_mAP:.2f} is not a reported result."
    return replace(tuned, name=f"weighted {label} (tuned on {ds.tuning_split})"), note


def _choose_best(
    candidates: list[MethodRow], tuning: Mapping[str, FeatureSet] | None
) -> tuple[MethodRow, str]:
    """Best candidate by mAP on the tuning split, else on the reported split (said so)."""
    if tuning is None:
        best = max(candidates, key=lambda r: r.result.result.mAP)
        return best, (
            f"Re-ranking runs on `{best.slug}`, the best ensemble by mAP on the reported "
            "split itself (no tuning split configured): those rows are optimistic."
        )
    scores = {r.slug: evaluate_method(r.result.spec, tuning).result.mAP for r in candidates}
    best = max(candidates, key=lambda r: scores[r.slug])
    listing = ", ".join(f"{slug} {100 * s:.2f}" for slug, s in scores.items())
    return best, (
        f"Re-ranking runs on `{best.slug}`, the best ensemble by mAP on the tuning split "
        f"({listing})."
    )


def _embed_all(
    config: ExperimentConfig, cache: FeatureCache, split: str
) -> dict[str, EmbeddedModel]:
    out = {}
    for entry in track(config.models, f"features ({split})", total=len(config.models)):
        out[entry.name] = cache.get(entry, split)
    first = next(iter(out.values())).features
    if not EvalSplit.from_features(first).labelled:
        raise ConfigError(
            f"dataset.split '{split}' has no identity labels (challenge split?): an experiment "
            "measures mAP; embed it and use `footreid evaluate --export-ranking` instead"
        )
    return out


def _model_entries(
    config: ExperimentConfig, embedded: Mapping[str, EmbeddedModel], run_dir: Path
) -> tuple[list[dict[str, Any]], list[str]]:
    """results.json ``models`` and the results.md model lines."""
    entries, lines = [], []
    for m in config.models:
        emb = embedded[m.name]
        meta = emb.features.meta
        checkpoint = None if m.checkpoint is None else str(Path(m.checkpoint).resolve())
        entries.append(
            {
                "name": m.name,
                "checkpoint": checkpoint,
                "features": emb.path.relative_to(run_dir).as_posix(),
                "train_run": infer_train_run(m),
            }
        )
        source = f"`{checkpoint}`" if checkpoint else f"{m.model} (pretrained `{m.pretrained}`)"
        size = "x".join(str(v) for v in meta.get("input_size", []))
        timing = f"{'cached, ' if emb.cached else ''}{emb.seconds:.1f} s"
        lines.append(
            f"| {m.name} | {source} | {size} | {meta.get('flip_tta')} | "
            f"{meta.get('precision')} | {timing} |"
        )
    return entries, lines


def _add_rows(
    config: ExperimentConfig, table: _Table, tuning: Mapping[str, FeatureSet] | None
) -> list[str]:
    """Evaluate every row into ``table``; returns the notes saying how rows were chosen."""
    names, metric = [m.name for m in config.models], config.methods.metric
    singles = [table.add(MethodSpec(n, "single", [n], None, metric), n) for n in names]
    notes = []
    ensembles = [table.add(spec, slug) for spec, slug in _ensemble_specs(config, names)]
    if tuning is not None and config.methods.search_weights and len(names) >= 2:
        spec, note = _tuned_spec(config, names, tuning)
        ensembles.append(table.add(spec, "weighted_tuned"))
        notes.append(note)
    best, why = _choose_best(ensembles or singles, tuning)
    notes.append(why)
    base = best.result.spec
    for preset in config.methods.rerank:
        spec = replace(base, name=f"{base.name} + rerank {preset}", rerank=preset)
        table.add(spec, f"{best.slug}__rerank_{preset}")
    if config.methods.query_expansion is not None:
        k = config.methods.query_expansion
        spec = replace(base, name=f"{base.name} + AQE k={k}", query_expansion=k)
        table.add(spec, f"{best.slug}__aqe{k}")
    return notes


def run_experiment(config: ExperimentConfig | str | Path) -> Path:
    """Embed (cached), evaluate every method and write the run's results.

    Args:
        config: an :class:`ExperimentConfig`, or the path of its YAML file.

    Returns:
        The run directory, holding ``config.yaml``, ``features/<model>__<split>.npz``,
        ``per_query/<slug>.csv``, ``results.json`` and ``results.md``.
    """
    if not isinstance(config, ExperimentConfig):
        config = load_experiment(config)
    validate(config)
    ds, run_dir = config.dataset, config.run_dir
    (run_dir / "per_query").mkdir(parents=True, exist_ok=True)
    save_config(config, run_dir / "config.yaml")
    cache = FeatureCache(run_dir, ds.root, config.embed)
    reported = _embed_all(config, cache, ds.split)
    tuning_emb = _embed_all(config, cache, ds.tuning_split) if ds.tuning_split else None
    features = {n: e.features for n, e in reported.items()}
    tuning = None if tuning_emb is None else {n: e.features for n, e in tuning_emb.items()}
    table = _Table(run_dir, features)
    notes = _add_rows(config, table, tuning)
    top = max(table.rows, key=lambda r: r.result.result.mAP).slug
    dataset = {
        "root": str(Path(ds.root).resolve()),
        "split": ds.split,
        "tuning_split": ds.tuning_split,
    }
    models, lines = _model_entries(config, reported, run_dir)
    notes = [
        *notes,
        "Concatenation of L2-normalised features ranks exactly like equal-weight averaging "
        "of cosine (or squared-Euclidean) distances (SPEC.md section 4).",
        "CMC values are measured from the per-action rankings, never estimated.",
    ]
    write_results_json(run_dir, dataset, models, table.rows, top)
    write_results_md(run_dir, f"Experiment `{config.name}`", dataset, lines, table.rows, top, notes)
    log.info("results: %s", run_dir / "results.md")
    return run_dir
