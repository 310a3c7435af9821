"""JSON-ready records of evaluated methods: metrics, intervals, classes, paired comparisons.

One document (``footreid evaluate --json``, ``footreid ensemble --json``) is built here so
that the CLI only prints it and any script gets the same numbers with one call. Schema
``footreid.evaluation/1`` (fractions in [0, 1], differences in [-1, 1])::

    {"schema": "footreid.evaluation/1", "command": "evaluate" | "ensemble",
     "bootstrap": null | {"resamples", "seed", "level", "unit": "actions",
                          "interval": "percentile"},
     "methods": [{"name", "spec" (MethodSpec.to_dict()), "features_files": [str],
                  "split", "dataset_root" (null when the features do not say),
                  "mAP", "rank1", "cmc": {"1", "5", "10", "20"},
                  "num_queries", "num_skipped", "num_actions",
                  "intervals": null | {"mAP": Interval, "rank1": Interval},
                  "per_class": {group: {"mAP", "rank1", "num_queries"}}, "time_s"}],
     "comparisons": [{"a", "b", "mAP": PairedDifference, "rank1": PairedDifference}]}

``Interval`` and ``PairedDifference`` are the ``to_dict()`` of
:mod:`footreid.evaluate.intervals`; ``comparisons`` is empty unless an ensemble was
compared with its members under a bootstrap.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from footreid.core.publish import publishable, publishable_path
from footreid.evaluate.intervals import UNIT, bootstrap_intervals, paired_bootstrap
from footreid.evaluate.methods import MethodResult
from footreid.evaluate.per_query import class_breakdown

SCHEMA = "footreid.evaluation/1"
CMC_RANKS: tuple[int, ...] = (1, 5, 10, 20)


@dataclass(frozen=True)
class BootstrapSettings:
    """How the intervals are drawn (:mod:`footreid.evaluate.intervals`).

    Attributes:
        resamples: B >= 1 resamples of the actions.
        seed: non-negative seed of the draws.
        level: coverage in (0, 1).
    """

    resamples: int = 1000
    seed: int = 0
    level: float = 0.95

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready dict, with the resampled unit and the interval kind."""
        return {
            "resamples": int(self.resamples),
            "seed": int(self.seed),
            "level": float(self.level),
            "unit": UNIT,
            "interval": "percentile",
        }


def method_record(
    method: MethodResult,
    features_files: Sequence[str | Path],
    bootstrap: BootstrapSettings | None = None,
) -> dict[str, Any]:
    """One entry of ``"methods"`` (schema in the module docstring).

    Args:
        method: an evaluated method.
        features_files: the features file(s) it was computed from.

    Paths are recorded relative to the working directory, or as names (the document is
    meant to be shared: :mod:`footreid.core.publish`).
        bootstrap: interval settings; None leaves ``"intervals"`` null.
    """
    result, meta = method.result, method.dist.meta
    intervals = None
    if bootstrap is not None:
        found = bootstrap_intervals(result, bootstrap.resamples, bootstrap.level, bootstrap.seed)
        intervals = {name: iv.to_dict() for name, iv in found.items()}
    return {
        "name": method.spec.name,
        "spec": method.spec.to_dict(),
        "features_files": [publishable_path(p, Path.cwd()) for p in features_files],
        "split": _plain(meta.get("split")),
        "dataset_root": publishable(_plain(meta.get("dataset_root")), Path.cwd()),
        "mAP": float(result.mAP),
        "rank1": float(result.rank1),
        "cmc": {str(k): float(result.cmc[k - 1]) for k in CMC_RANKS if k <= result.max_rank},
        "num_queries": int(result.num_queries),
        "num_skipped": int(result.num_skipped),
        "num_actions": int(np.unique(result.action_idx).shape[0]),
        "intervals": intervals,
        "per_class": class_breakdown(method),
        "time_s": float(method.time_s),
    }


def comparison_record(
    a: MethodResult, b: MethodResult, bootstrap: BootstrapSettings
) -> dict[str, Any]:
    """One entry of ``"comparisons"``: B - A of mAP and Rank-1 on the same resamples.

    Raises:
        DataError: the two methods were not scored on the same queries.
    """
    pairs = paired_bootstrap(
        a.result, b.result, bootstrap.resamples, bootstrap.level, bootstrap.seed
    )
    return {
        "a": a.spec.name,
        "b": b.spec.name,
        **{name: pair.to_dict() for name, pair in pairs.items()},
    }


def evaluation_document(
    command: str,
    methods: Sequence[dict[str, Any]],
    comparisons: Sequence[dict[str, Any]] = (),
    bootstrap: BootstrapSettings | None = None,
) -> dict[str, Any]:
    """The whole JSON document (schema in the module docstring)."""
    return {
        "schema": SCHEMA,
        "command": command,
        "bootstrap": None if bootstrap is None else bootstrap.to_dict(),
        "methods": list(methods),
        "comparisons": list(comparisons),
    }


def _plain(value: Any) -> Any:
    """A meta value as JSON: strings and numbers as they are, anything else as a string."""
    if value is None or isinstance(value, str | int | float | bool):
        return value
    return str(value)
