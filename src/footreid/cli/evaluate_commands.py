"""The evaluate group, scoring features files: ``evaluate`` and ``ensemble``.

``evaluate`` and ``ensemble`` print tables, or with ``--json`` one JSON document on stdout
and nothing else there (schema ``footreid.evaluation/1``, :mod:`footreid.evaluate.summary`;
notes go to stderr). mAP and Rank-1 carry 95 % percentile intervals by bootstrap over
actions (``--bootstrap N`` resamples, ``--seed``; ``--bootstrap 0`` skips them).

Exit codes (``footreid.cli.main.main``): 0 success; 1 a footreid error (missing or
malformed file, bad data or config: one ``error:`` line on stderr, nothing on stdout);
2 a usage error (bad option or argument, reported by click); 130 interrupted.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import typer
import typer.core

if TYPE_CHECKING:
    from rich.console import Console

    from footreid.core.records import FeatureSet
    from footreid.evaluate.methods import MethodResult, MethodSpec
    from footreid.evaluate.summary import BootstrapSettings

MODES = ("concat", "average", "weighted")
JSON_HELP = "Print one JSON document (schema footreid.evaluation/1) on stdout instead of tables."
BOOTSTRAP_HELP = "Resamples of actions for the 95 % intervals (0: no intervals)."
CENTRE_HELP = (
    "Centre features before comparing them: 'action' (minus the action's mean) or 'view' "
    "(queries and gallery each minus their own mean), or none/off; see "
    "footreid.evaluate.centring."
)


def _load_all(paths: list[Path]) -> dict[str, FeatureSet]:
    """Features files keyed by a unique name (the file stem, numbered if repeated)."""
    from footreid.core.records import FeatureSet

    out: dict[str, FeatureSet] = {}
    for path in paths:
        name, n = path.stem, 1
        while name in out:
            n += 1
            name = f"{path.stem}_{n}"
        out[name] = FeatureSet.load(path)
    return out


def _console(json_output: bool) -> Console:
    """Where notes go: stderr when stdout carries the JSON document, else stdout."""
    from footreid.cli.console import make_console

    return make_console(stderr=json_output)


def _outputs(
    spec: MethodSpec,
    features: dict[str, FeatureSet],
    export_ranking: Path | None,
    per_query: Path | None,
    console: Console,
) -> MethodResult | None:
    """Evaluate one method and write the optional files; None when the split is unlabelled."""
    from footreid.evaluate.distances import EvalSplit
    from footreid.evaluate.methods import compute_method, evaluate_method
    from footreid.evaluate.per_query import per_query_rows, write_per_query_csv
    from footreid.evaluate.ranking import rankings_from_distances, write_ranking

    labelled = EvalSplit.from_features(features[spec.members[0]]).labelled
    if not labelled and export_ranking is None:
        raise typer.BadParameter(
            "these features have no person_uid labels (challenge split): metrics cannot be "
            "computed; pass --export-ranking FILE to write the ranking for the server"
        )
    if not labelled and per_query is not None:
        raise typer.BadParameter("--per-query needs labelled features (valid or test split)")
    result = evaluate_method(spec, features) if labelled else None
    if export_ranking is not None:
        dist = result.dist if result is not None else compute_method(spec, features)
        write_ranking(export_ranking, rankings_from_distances(dist))
        note = "" if labelled else " (no labels: challenge split, export only, no metrics)"
        console.print(f"ranking of {spec.name} written to {export_ranking}{note}")
    if per_query is not None and result is not None:
        write_per_query_csv(per_query, per_query_rows(result))
        console.print(f"per-query table of {spec.name} written to {per_query}")
    return result


def _check_outputs(*files: Path | None) -> None:
    """A read-only destination fails before any features file is read."""
    from footreid.core.io import check_writable

    for file in files:
        if file is not None:
            check_writable(file.parent)


def _settings(resamples: int, seed: int) -> BootstrapSettings | None:
    """Interval settings of ``--bootstrap``/``--seed``; None when ``--bootstrap 0``."""
    from footreid.evaluate.summary import BootstrapSettings

    return BootstrapSettings(resamples, seed) if resamples > 0 else None


def evaluate_command(
    features_files: list[Path] = typer.Argument(..., help="Features file(s) from `embed`."),
    metric: str = typer.Option("cosine", "--metric", help="cosine, euclidean or sqeuclidean."),
    rerank: str | None = typer.Option(
        None, "--rerank", help="standard, aggressive, broad, lambda05 or k1,k2,lambda."
    ),
    query_expansion: int | None = typer.Option(
        None, "--query-expansion", min=1, help="Average query expansion with k neighbours."
    ),
    centre: str | None = typer.Option(None, "--centre", help=CENTRE_HELP),
    export_ranking: Path | None = typer.Option(
        None, "--export-ranking", help="Write the challenge ranking JSON (one features file)."
    ),
    per_query: Path | None = typer.Option(
        None, "--per-query", help="Write the per-query CSV (one features file)."
    ),
    json_output: bool = typer.Option(False, "--json", help=JSON_HELP),
    bootstrap: int = typer.Option(1000, "--bootstrap", min=0, help=BOOTSTRAP_HELP),
    seed: int = typer.Option(0, "--seed", min=0, help="Seed of the bootstrap draws."),
) -> None:
    """Per-action mAP / CMC of features file(s), per class, with optional exports.

    Exit codes: 0 success; 1 a footreid error (bad file, data or config; one 'error:'
    line on stderr); 2 a usage error; 130 interrupted.
    """
    from footreid.cli.evaluation_output import print_report
    from footreid.evaluate.methods import MethodSpec
    from footreid.evaluate.summary import method_record

    if len(features_files) > 1 and (export_ranking or per_query):
        raise typer.BadParameter("--export-ranking and --per-query take one features file")
    _check_outputs(export_ranking, per_query)
    features = _load_all(features_files)
    paths = dict(zip(features, features_files, strict=True))
    settings, console = _settings(bootstrap, seed), _console(json_output)
    records = []
    for name in features:
        steps = {"rerank": rerank, "query_expansion": query_expansion, "centre": centre}
        spec = MethodSpec(name=name, kind="single", members=[name], metric=metric, steps=steps)
        result = _outputs(spec, features, export_ranking, per_query, console)
        if result is not None:
            records.append(method_record(result, [paths[name]], settings))
    print_report("evaluate", "per-action evaluation", records, [], settings, json_output)


def _split_paths(values: list[Path] | None) -> list[Path]:
    """Accept ``--tune-on a --tune-on b`` and ``--tune-on a,b``."""
    return [Path(p) for v in values or [] for p in str(v).split(",") if p]


class _EnsembleCommand(typer.core.TyperCommand):
    """``ensemble`` whose ``--tune-on`` also takes a space-separated list (the README's form).

    click options take one value each, so ``--tune-on a b c`` would hand ``b`` and ``c`` to
    the features files; here the files after ``--tune-on``, up to the next option, are
    rewritten as repeated ``--tune-on`` before click parses them.
    """

    def parse_args(self, ctx: typer.Context, args: list[str]) -> list[str]:
        return super().parse_args(ctx, _greedy_option(args, "--tune-on"))


def _greedy_option(args: list[str], option: str) -> list[str]:
    """``option a b c`` -> ``option a option b option c`` (stops at the next ``-...``).

    Only for one ``option`` with one plain value: the repeated and the comma forms keep
    click's meaning, so files after them stay positional as before.
    """
    at = args.index(option) if args.count(option) == 1 else len(args)
    if at + 1 >= len(args) or "," in args[at + 1]:
        return list(args)
    out, more = list(args[: at + 2]), True
    for arg in args[at + 2 :]:
        more = more and not arg.startswith("-")
        out += [option, arg] if more else [arg]
    return out


def ensemble_command(
    features_files: list[Path] = typer.Argument(..., help="Features files of the same split."),
    mode: str = typer.Option("average", "--mode", help="concat, average or weighted."),
    weights: str | None = typer.Option(
        None, "--weights", help="Weights of --mode weighted, e.g. 0.2,0.2,0.6 (file order)."
    ),
    tune_on: list[Path] | None = typer.Option(
        None,
        "--tune-on",
        help="Features of a tuning split (same models, same order): a b c, a,b,c or repeated.",
    ),
    weight_step: float = typer.Option(0.1, "--weight-step", help="Weight grid spacing."),
    allow_same_split: bool = typer.Option(
        False, "--allow-same-split", help="Report weights tuned on the reported split."
    ),
    metric: str = typer.Option("cosine", "--metric", help="cosine, euclidean or sqeuclidean."),
    rerank: str | None = typer.Option(None, "--rerank", help="Re-ranking preset or k1,k2,lambda."),
    centre: str | None = typer.Option(None, "--centre", help=CENTRE_HELP),
    export_ranking: Path | None = typer.Option(None, "--export-ranking", help="Ranking JSON."),
    per_query: Path | None = typer.Option(None, "--per-query", help="Per-query CSV."),
    json_output: bool = typer.Option(False, "--json", help=JSON_HELP),
    bootstrap: int = typer.Option(1000, "--bootstrap", min=0, help=BOOTSTRAP_HELP),
    seed: int = typer.Option(0, "--seed", min=0, help="Seed of the bootstrap draws."),
) -> None:
    """Combine models: concatenation, equal or weighted distance averaging (tunable).

    The ensemble is compared with each member by a paired bootstrap over actions.

    Exit codes: 0 success; 1 a footreid error (bad file, data or config; one 'error:'
    line on stderr); 2 a usage error; 130 interrupted.
    """
    _check_outputs(export_ranking, per_query)
    features = _load_all(list(features_files))
    names = list(features)
    spec = _ensemble_spec(mode, names, weights, metric, rerank, centre)
    tune_files = _split_paths(tune_on)
    if mode == "weighted" and not tune_files and spec.weights is None:
        raise typer.BadParameter("--mode weighted needs --weights or --tune-on")
    console = _console(json_output)
    if tune_files:
        if mode != "weighted" or len(tune_files) != len(names):
            raise typer.BadParameter("--tune-on goes with --mode weighted, one file per model")
        spec = _tuned_spec(spec, features, tune_files, weight_step, allow_same_split, console)
    ensemble = _outputs(spec, features, export_ranking, per_query, console)
    paths = dict(zip(names, features_files, strict=True))
    _report_ensemble(ensemble, features, paths, _settings(bootstrap, seed), json_output)


def _ensemble_spec(
    mode: str,
    names: list[str],
    weights: str | None,
    metric: str,
    rerank: str | None,
    centre: str | None,
) -> MethodSpec:
    """The method of ``footreid ensemble``'s options (usage errors named)."""
    from footreid.evaluate.methods import MethodSpec

    if mode not in MODES:
        raise typer.BadParameter(f"--mode must be one of {', '.join(MODES)}")
    if len(names) < 2:
        raise typer.BadParameter("an ensemble needs at least two features files")
    kind = "concat" if mode == "concat" else "average"
    parsed = None if weights is None else [float(w) for w in weights.split(",")]
    name = f"{mode}({'+'.join(names)})"
    steps = {"rerank": rerank, "centre": centre}
    return MethodSpec(
        name=name, kind=kind, members=names, weights=parsed, metric=metric, steps=steps
    )


def _report_ensemble(
    ensemble: MethodResult | None,
    features: dict[str, FeatureSet],
    paths: dict[str, Path],
    settings: BootstrapSettings | None,
    json_output: bool,
) -> None:
    """Evaluate each member alone, compare the ensemble with it, and report all."""
    from footreid.cli.evaluation_output import print_report
    from footreid.evaluate.evaluation import evaluate_with_members
    from footreid.evaluate.summary import comparison_record, method_record

    records, comparisons = [], []
    if ensemble is not None:
        for single, method in evaluate_with_members(ensemble, features).pairs():
            records.append(method_record(single, [paths[single.spec.name]], settings))
            if settings is not None:
                comparisons.append(comparison_record(single, method, settings))
        records.append(method_record(ensemble, list(paths.values()), settings))
    title = "ensemble and its members"
    print_report("ensemble", title, records, comparisons, settings, json_output)


def _tuned_spec(
    spec: MethodSpec,
    features: dict[str, FeatureSet],
    tune_files: list[Path],
    step: float,
    allow_same_split: bool,
    console: Console,
) -> MethodSpec:
    """``spec`` with weights tuned on ``tune_files`` (refused on the reported split)."""
    from dataclasses import replace

    from footreid.evaluate.evaluation import check_reported_split, tune_weights

    tune = dict(zip(spec.members, _load_all(tune_files).values(), strict=True))
    tuned, search = tune_weights(spec, tune, step)
    same = check_reported_split(search, features[spec.members[0]], allow_same_split)
    console.print(
        f"weights tuned on {search.tune_split.label}: {list(search.weights)} "
        f"(tuning-split mAP {search.tune_mAP:.2%}, not a reported result)"
    )
    if same:
        return replace(tuned, name=f"{tuned.name} [TUNED ON THE REPORTED SPLIT]")
    return tuned


def register(app: typer.Typer) -> None:
    """Add ``evaluate`` and ``ensemble`` to the ``footreid`` app."""
    app.command("evaluate")(evaluate_command)
    app.command("ensemble", cls=_EnsembleCommand)(ensemble_command)
