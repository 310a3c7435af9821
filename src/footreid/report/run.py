"""A run directory written by the experiment runner, read back for the report.

Layout (``footreid experiment``): ``results.json`` (dataset, models with their features
files and training runs, methods with their spec and measured metrics, best method),
``features/*.npz`` (:class:`~footreid.core.records.FeatureSet` files) and
``per_query/<slug>.csv``. Any method's per-action distances are rebuilt from its spec
with ``footreid.evaluate.methods.compute_method``, so the report shows exactly the
rankings the results table scored.
"""

from __future__ import annotations

from dataclasses import dataclass, field, fields
from pathlib import Path

import numpy as np

from footreid.core.errors import DataError
from footreid.core.records import FeatureSet
from footreid.core.run_results import MethodEntry, ModelEntry
from footreid.core.run_results import RunResults as _RunResults
from footreid.core.run_results import read_run as read_results_file
from footreid.evaluate.distances import ActionDistances
from footreid.evaluate.metrics import EvalResult, evaluate_distances, rank_order

__all__ = ["MethodEntry", "ModelEntry", "RunResults", "read_run"]


@dataclass
class RunResults(_RunResults):
    """A run's results (:mod:`footreid.core.run_results`) and where its crops are."""

    _split_dir: Path | None = field(default=None, repr=False)

    @property
    def split_dir(self) -> Path:
        """``<reid root>/<split>``: the folder the features' ``path`` entries are relative to."""
        if self._split_dir is None:
            from footreid.data.soccernet import find_reid_root

            self._split_dir = find_reid_root(self.dataset_root) / self.split
        return self._split_dir


def read_run(run_dir: str | Path) -> RunResults:
    """Read ``RUN/results.json`` (:func:`footreid.core.run_results.read_run`) for the report."""
    run = read_results_file(run_dir)
    return RunResults(**{f.name: getattr(run, f.name) for f in fields(_RunResults)})


def method_distances(method: MethodEntry, features: dict[str, FeatureSet]) -> ActionDistances:
    """Rebuild a method's per-action distances from its spec and the run's features."""
    from footreid.evaluate.methods import compute_method, method_from_dict

    return compute_method(method_from_dict(method.spec), features)


@dataclass
class RankedQuery:
    """One query ranked against the gallery of its own action (the official protocol).

    Attributes:
        query_row: row of the query in the split's query arrays.
        action_idx: the query's action.
        gallery_rows: (G_a,) int64 gallery rows of that action, best first.
        distances: (G_a,) float32 distances in that order (lower is closer).
        matches: (G_a,) bool, True where the gallery crop has the query's ``person_uid``.
    """

    query_row: int
    action_idx: int
    gallery_rows: np.ndarray
    distances: np.ndarray
    matches: np.ndarray


def ranked_queries(dist: ActionDistances, query_rows: list[int]) -> list[RankedQuery]:
    """Ranked same-action gallery of each of ``query_rows`` (the metrics' tie order)."""
    split = dist.split
    wanted = {int(r) for r in query_rows}
    found: dict[int, RankedQuery] = {}
    for block in dist:
        hit = [i for i, r in enumerate(block.query) if int(r) in wanted]
        if not hit:
            continue
        order = rank_order(block.qg[hit])
        for j, i in enumerate(hit):
            g_rows = block.gallery[order[j]]
            row = int(block.query[i])
            found[row] = RankedQuery(
                query_row=row,
                action_idx=int(block.action_idx),
                gallery_rows=g_rows,
                distances=block.qg[i, order[j]],
                matches=split.gallery_person_uid[g_rows] == split.query_person_uid[row],
            )
    missing = wanted - set(found)
    if missing:
        raise DataError(None, f"query rows {sorted(missing)[:5]} are in no action block")
    return [found[int(r)] for r in query_rows]


def evaluate_method(dist: ActionDistances) -> EvalResult:
    """Measured per-action metrics of a method (CMC to rank 20)."""
    return evaluate_distances(dist, max_rank=20)
