"""``results.json`` of an experiment run, read back: the one reader (report, web demo).

The writer is ``footreid.experiment.results`` (its module docstring holds the schema).
Paths inside are resolved against the run folder (``ExperimentLayout.resolve``); every
field a reader uses is checked here, and a missing one is a DataError naming it.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from footreid.core.errors import DataError
from footreid.core.layout import ExperimentLayout
from footreid.core.records import FeatureSet


@dataclass(frozen=True)
class ModelEntry:
    """One model of the run: its features file, checkpoint and training run (if known)."""

    name: str
    features: Path
    checkpoint: Path | None
    train_run: Path | None


@dataclass(frozen=True)
class MethodEntry:
    """One row of the results table: a single model, an ensemble or a re-ranked ensemble."""

    name: str
    slug: str
    spec: dict[str, Any]
    metrics: dict[str, Any]
    time_s: float | None
    per_query_csv: Path | None
    std: dict[str, float] | None = None
    interval: dict[str, dict[str, Any]] | None = None
    seeds: list[dict[str, Any]] = field(default_factory=list)

    @property
    def mAP(self) -> float:  # the protocol's spelling
        return float(self.metrics["mAP"])

    @property
    def measured(self) -> dict[str, float]:
        """mAP and Rank-1 of the rankings the run's features give: the first seed's."""
        source = self.seeds[0] if self.seeds else self.metrics
        return {"mAP": float(source["mAP"]), "rank1": float(source["rank1"])}

    @property
    def rank1(self) -> float:
        return float(self.metrics["rank1"])

    @property
    def cmc(self) -> np.ndarray:
        """(max_rank,) float64 measured CMC, ``cmc[k - 1]`` = CMC@k in [0, 1]."""
        return np.asarray(self.metrics["cmc"], dtype=np.float64)


@dataclass
class RunResults:
    """``results.json`` of a run, with paths resolved."""

    root: Path
    dataset_root: Path
    split: str
    tuning_split: str | None
    models: list[ModelEntry]
    methods: list[MethodEntry]
    best_method: str

    def method(self, slug: str) -> MethodEntry:
        """The method called ``slug``; DataError listing the known slugs otherwise."""
        for entry in self.methods:
            if entry.slug == slug:
                return entry
        known = ", ".join(m.slug for m in self.methods)
        source = ExperimentLayout(self.root).results_json
        raise DataError(source, f"no method '{slug}' (known: {known})")

    def load_features(self) -> dict[str, FeatureSet]:
        """Every model's features, keyed by model name."""
        return {m.name: FeatureSet.load(m.features) for m in self.models}


def _field(obj: dict[str, Any], key: str, where: str, source: Path) -> Any:
    if not isinstance(obj, dict) or key not in obj:
        raise DataError(source, f"missing field '{where}{key}'; re-run footreid experiment")
    return obj[key]


def _model_entry(m: dict[str, Any], layout: ExperimentLayout, source: Path) -> ModelEntry:
    """One ``models[]`` record of results.json, its paths resolved."""
    return ModelEntry(
        name=str(_field(m, "name", "models[].", source)),
        features=layout.resolve(_field(m, "features", "models[].", source)),
        checkpoint=layout.resolve(m.get("checkpoint")),
        train_run=layout.resolve(m.get("train_run")),
    )


def _method_entry(m: dict[str, Any], layout: ExperimentLayout, source: Path) -> MethodEntry:
    """One ``methods[]`` record of results.json, its required metrics checked."""
    metrics = _field(m, "metrics", "methods[].", source)
    for key in ("mAP", "rank1", "cmc"):
        _field(metrics, key, "methods[].metrics.", source)
    return MethodEntry(
        name=str(_field(m, "name", "methods[].", source)),
        slug=str(_field(m, "slug", "methods[].", source)),
        spec=dict(_field(m, "spec", "methods[].", source)),
        metrics=dict(metrics),
        time_s=None if m.get("time_s") is None else float(m["time_s"]),
        per_query_csv=layout.resolve(m.get("per_query_csv")),
        std=m.get("std"),
        interval=m.get("interval"),
        seeds=list(m.get("seeds") or []),
    )


def read_run(run_dir: str | Path) -> RunResults:
    """Read ``RUN/results.json`` and check the fields the report and demo use.

    Raises:
        DataError: the file is missing, not JSON, or lacks a field (named in the message).
    """
    run_dir = Path(run_dir)
    layout = ExperimentLayout(run_dir)
    source, data = layout.results_json, layout.read_results()
    dataset = _field(data, "dataset", "", source)
    models = [_model_entry(m, layout, source) for m in _field(data, "models", "", source)]
    methods = [_method_entry(m, layout, source) for m in _field(data, "methods", "", source)]
    if not methods:
        raise DataError(source, "'methods' is empty: the run has no result to report")
    run = RunResults(
        root=run_dir,
        dataset_root=layout.resolve(str(_field(dataset, "root", "dataset.", source))) or Path("."),
        split=str(_field(dataset, "split", "dataset.", source)),
        tuning_split=dataset.get("tuning_split"),
        models=models,
        methods=methods,
        best_method=str(data.get("best_method") or methods[0].slug),
    )
    run.method(run.best_method)  # the best method must be one of the rows
    return run
