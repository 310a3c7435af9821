"""The rows of one seed's results table, every choice made by :mod:`.tuning`.

Rows, in order: each single model; with two models or more, feature concatenation,
equal-weight averaging, the configured weighted averages and weights searched on the
tuning queries; the re-ranking presets (and query expansion) applied to the ensemble
chosen on the tuning queries; finally the headline method, chosen the same way among
every row. A chosen row that differs between folds is a
:class:`~footreid.evaluate.methods.FoldedSpec`.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace

from footreid.core.records import FeatureSet
from footreid.evaluate.evaluation import member_distances
from footreid.evaluate.methods import AnySpec, FoldedSpec, MethodResult, MethodSpec
from footreid.evaluate.methods import evaluate_method as evaluate
from footreid.evaluate.metrics import EvalResult
from footreid.evaluate.post_steps import parse_step
from footreid.evaluate.weight_search import weight_grid_results
from footreid.experiment.config import ExperimentConfig, slugify
from footreid.experiment.tuning import Fold, Tuning, choose

CHOSEN = "chosen"
"""Slug prefix of rows built on a choice that differs between folds."""


@dataclass
class SeedRow:
    """One evaluated row of one seed's table.

    Attributes:
        key: stable identity of the row across seeds (``single:a``, ``rerank:standard``).
        slug: file-name-safe name (may name the chosen ensemble).
        result: the method evaluated on the reported split.
        tune_result: its result on the tuning queries (the reported result itself when
            choices are cross-fitted or made on the reported split).
        note: how the row was chosen, for results.md.
    """

    key: str
    slug: str
    result: MethodResult
    tune_result: EvalResult
    note: str = ""

    @property
    def spec(self) -> AnySpec:
        return self.result.spec


@dataclass
class SeedTable:
    """The rows of one seed and its headline (a row key)."""

    rows: list[SeedRow]
    best: str
    notes: list[str]


class _Builder:
    """Evaluates rows on the reported split and, in ``split`` mode, the tuning split."""

    def __init__(
        self,
        config: ExperimentConfig,
        reported: Mapping[str, FeatureSet],
        tuning_features: Mapping[str, FeatureSet] | None,
        tuning: Tuning,
    ) -> None:
        self.config, self.tuning = config, tuning
        self.centre = parse_step("centre", config.methods.centre)
        self.reported, self.tuning_features = reported, tuning_features
        self.rows: list[SeedRow] = []
        self.folds: list[Fold] = []

    def add(self, key: str, slug: str, spec: AnySpec, note: str = "") -> SeedRow:
        spec = _with(spec, centre=self.centre)  # every row compares centred features
        result = evaluate(spec, self.reported)
        if self.tuning.mode == "split":
            assert self.tuning_features is not None and isinstance(spec, MethodSpec)
            tune = evaluate(spec, self.tuning_features).result
        else:
            tune = result.result
        if not self.folds:
            tune_split = tune if self.tuning.mode == "split" else None
            self.folds = self.tuning.make_folds(result.result, tune_split)
        row = SeedRow(key, slugify(slug), result, tune, note)
        self.rows.append(row)
        return row

    def chosen_spec(self, name: str, specs: Sequence[AnySpec]) -> AnySpec:
        """One spec when every fold chose the same, else a FoldedSpec (actions per fold)."""
        if all(s == specs[0] for s in specs):
            return specs[0]
        parts: list[tuple[tuple[int, ...], MethodSpec]] = []
        for fold, spec in zip(self.folds, specs, strict=True):
            parts += _restrict(spec, set(fold.actions.tolist()))
        return FoldedSpec(name=name, folds=tuple(parts))

    def choose_rows(self, rows: Sequence[SeedRow]) -> list[SeedRow]:
        """The row chosen in each fold, on the fold's tuning queries."""
        keys = [r.key for r in rows]
        by_key = {r.key: r for r in rows}
        picks = choose(keys, {r.key: r.tune_result for r in rows}, self.folds).picks
        return [by_key[k] for k in picks]


def _restrict(spec: AnySpec, actions: set[int]) -> list[tuple[tuple[int, ...], MethodSpec]]:
    """``spec`` limited to ``actions``, as (actions, plain spec) parts."""
    if isinstance(spec, MethodSpec):
        return [(tuple(sorted(actions)), spec)]
    parts = []
    for fold_actions, inner in spec.folds:
        kept = tuple(sorted(actions.intersection(fold_actions)))
        if kept:
            parts.append((kept, inner))
    return parts


def _ensemble_specs(config: ExperimentConfig, names: list[str]) -> list[tuple[MethodSpec, str]]:
    """(spec, slug) of the configured ensembles of all models (none with one model)."""
    metric, out = config.methods.metric, []
    if len(names) >= 2 and config.methods.concat:
        out.append(
            (MethodSpec(name="concat", kind="concat", members=names, metric=metric), "concat")
        )
    if len(names) >= 2 and config.methods.average:
        spec = MethodSpec(name="average (equal)", kind="average", members=names, metric=metric)
        out.append((spec, "average"))
    for weights in config.methods.weighted:  # explicit weights name their own members
        members = [m.name for m in config.models if m.name in weights]
        ws = [float(weights[n]) for n in members]
        label = "/".join(f"{w:g}" for w in ws)
        slug = "weighted_" + "_".join(f"{w:g}" for w in ws)
        spec = MethodSpec(
            name=f"weighted {label}", kind="average", members=members, weights=ws, metric=metric
        )
        out.append((spec, slug))
    return out


def _weight_candidates(
    b: _Builder, names: list[str], features: Mapping[str, FeatureSet]
) -> dict[tuple[float, ...], EvalResult]:
    """Every grid weight vector with its result on ``features``."""
    m = b.config.methods
    spec = MethodSpec(
        name="weighted", kind="average", members=names, metric=m.metric, steps={"centre": b.centre}
    )
    dists = member_distances(spec, features)
    return dict(weight_grid_results(dists, m.weight_step))


def _add_tuned(b: _Builder, names: list[str]) -> str:
    """The weighted average whose weights are searched on the tuning queries."""
    m, where = b.config.methods, b.tuning.describe(b.config.dataset.split)
    tune_on = b.tuning_features if b.tuning.mode == "split" else b.reported
    assert tune_on is not None
    candidates = _weight_candidates(b, names, tune_on)
    choice = choose(list(candidates), candidates, b.folds)
    specs = [
        MethodSpec(name="weighted", kind="average", members=names, weights=list(w), metric=m.metric)
        for w in choice.picks
    ]
    label = " | ".join("/".join(f"{x:g}" for x in w) for w in choice.picks)
    how = f"tuned on {b.tuning.tuning_split}" if b.tuning.mode == "split" else "cross-fitted"
    name = f"weighted {label} ({how})"
    spec = replace(b.chosen_spec(name, specs), name=name)
    b.add("weighted_tuned", "weighted_tuned", spec)
    pairs = "; ".join(", ".join(f"{n} {x:g}" for n, x in zip(names, w, strict=True))
                      for w in choice.picks)  # fmt: skip
    best = " | ".join(f"{100 * max(s.values()):.2f}" for s in choice.scores)
    return (
        f"Weights searched on a grid of step {m.weight_step:g} ({where}): {pairs}; "
        f"their mAP on the tuning queries ({best}) is not a reported result."
    )


def _add_post_processing(b: _Builder, candidates: Sequence[SeedRow]) -> str:
    """Re-ranking presets and query expansion on the ensemble chosen on the tuning queries."""
    picks = b.choose_rows(candidates)
    uniform = all(p.key == picks[0].key for p in picks)
    base_slug = picks[0].slug if uniform else CHOSEN
    base_name = picks[0].spec.name if uniform else "chosen ensemble"
    specs = [p.spec for p in picks]
    m = b.config.methods
    for preset in m.rerank:
        name = f"{base_name} + rerank {preset}"
        chosen = b.chosen_spec(name, [_with(s, rerank=preset) for s in specs])
        b.add(f"rerank:{preset}", f"{base_slug}__rerank_{preset}", replace(chosen, name=name))
    if m.query_expansion is not None:
        k = m.query_expansion
        name = f"{base_name} + AQE k={k}"
        chosen = b.chosen_spec(name, [_with(s, query_expansion=k) for s in specs])
        b.add(f"aqe:{k}", f"{base_slug}__aqe{k}", replace(chosen, name=name))
    listing = " | ".join(p.slug for p in picks)
    return f"Re-ranking and query expansion run on {listing}, chosen by mAP on the tuning queries."


def _with(spec: AnySpec, **changes: object) -> AnySpec:
    """``spec`` with ``changes`` applied to it (to every fold of a folded spec)."""
    if isinstance(spec, MethodSpec):
        return spec.with_steps(**changes)
    folds = tuple((a, s.with_steps(**changes)) for a, s in spec.folds)
    return replace(spec, folds=folds)


def seed_table(
    config: ExperimentConfig,
    reported: Mapping[str, FeatureSet],
    tuning_features: Mapping[str, FeatureSet] | None,
    tuning: Tuning,
) -> SeedTable:
    """Every row of one seed's table (see the module docstring).

    Args:
        config: the experiment.
        reported: model name -> features of the reported split (this seed's).
        tuning_features: model name -> features of the tuning split (``split`` mode).
        tuning: where choices are made.
    """
    b = _Builder(config, reported, tuning_features, tuning)
    names, metric = [m.name for m in config.models], config.methods.metric
    singles = [
        b.add(f"single:{n}", n, MethodSpec(name=n, kind="single", members=[n], metric=metric))
        for n in names
    ]
    names = [n for n in names if n in config.methods.members] or names  # the combined ones
    ensembles = [
        b.add(f"ensemble:{slug}", slug, spec) for spec, slug in _ensemble_specs(config, names)
    ]
    notes = []
    if not tuning.tunes_on_reported and config.methods.search_weights and len(names) >= 2:
        notes.append(_add_tuned(b, names))
        ensembles.append(b.rows[-1])
    if config.methods.rerank or config.methods.query_expansion is not None:
        notes.append(_add_post_processing(b, ensembles or singles))
    best = b.choose_rows(b.rows)
    return SeedTable(b.rows, _headline(b, best), notes)


def _headline(b: _Builder, picks: Sequence[SeedRow]) -> str:
    """The key of the headline row: the uniform pick, or an added ``selected`` row."""
    if all(p.key == picks[0].key for p in picks):
        return picks[0].key
    name = "selected (" + " | ".join(p.slug for p in picks) + ")"
    spec = b.chosen_spec(name, [p.spec for p in picks])
    b.add("selected", "selected", replace(spec, name=name))
    return "selected"
