"""Confidence intervals of mAP and Rank-1 by bootstrap over actions, single and paired.

Why actions: the queries of one action share a gallery and the same few people, so they
are not independent; the actions are (``docs/protocol.md``, "Evaluation"). Resampling
queries would treat hundreds of correlated queries as independent and give intervals that
are too narrow. A resample draws A actions with replacement out of the A evaluated ones
and scores every query of each drawn action (an action drawn twice counts twice); its
metric is the mean over those queries, i.e. the same query-weighted mean as mAP itself.

The draws are a contract, so anyone can reproduce the numbers: ``rng =
numpy.random.default_rng(seed)``, then one call ``rng.integers(0, A, size=(B, A))``; row
``b`` holds resample ``b``'s A draws, each a position in the sorted distinct
``action_idx``. Nothing loops over resamples in Python: the draws become a (B, A) table of
counts (one ``np.bincount``), and one matrix product with the per-action sums gives every
resample's metrics. B = 1,000 on SoccerNet valid (1,751 actions, 11,638 queries) takes
about 0.05 s; memory peaks near 24 * B * A bytes (42 MB there).

Intervals are *percentile* intervals (Efron): the (1 - level)/2 and (1 + level)/2
quantiles of the B resampled metrics (numpy's default linear interpolation), no bias
correction. The paired comparison draws the same actions for both methods, so what is
shared by both (hard actions, easy actions) cancels out of the difference.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

import numpy as np

from footreid.core.errors import DataError
from footreid.evaluate.metrics import EvalResult

METRICS: tuple[str, ...] = ("mAP", "rank1")
UNIT = "actions"


@dataclass(frozen=True)
class Interval:
    """A bootstrap percentile interval of one metric (or of a difference of metrics).

    Attributes:
        metric: "mAP" or "rank1" (for a difference: the metric that is differenced).
        estimate: the value on all evaluated queries (not the mean of the resamples).
        low, high: the (1 - level)/2 and (1 + level)/2 quantiles of the resampled
            values; fractions in [0, 1] ([-1, 1] for a difference).
        level: nominal coverage, e.g. 0.95.
        resamples: B, the number of bootstrap resamples.
        seed: seed of ``numpy.random.default_rng`` that drew them.
        unit: what was resampled: always "actions".
        num_actions: A, the number of distinct actions with evaluated queries.
    """

    metric: str
    estimate: float
    low: float
    high: float
    level: float
    resamples: int
    seed: int
    unit: str
    num_actions: int

    @property
    def width(self) -> float:
        """``high - low``."""
        return self.high - self.low

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready dict of the fields (plus ``"interval": "percentile"``)."""
        return {**asdict(self), "interval": "percentile"}


@dataclass(frozen=True)
class PairedDifference:
    """Difference B - A of one metric between two methods scored on the same queries.

    Attributes:
        metric: "mAP" or "rank1".
        estimate_a, estimate_b: the metric of method A and of method B, in [0, 1].
        difference: interval of B - A; both methods were scored on the same resamples.
        p_value: fraction of resamples where B - A <= 0: a one-sided bootstrap p-value
            for "B is better than A" (small = B wins on nearly every resample of actions).
            It reads the bootstrap distribution as is (no recentring, no correction for
            several comparisons): a guide, not an exact test. 0 means below 1 / B.
        num_queries: queries both methods were scored on.
    """

    metric: str
    estimate_a: float
    estimate_b: float
    difference: Interval
    p_value: float
    num_queries: int

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready nested dict (``difference`` as :meth:`Interval.to_dict`)."""
        out = asdict(self)
        out["difference"] = self.difference.to_dict()
        return out


def metric_values(result: EvalResult) -> np.ndarray:
    """Per-query values whose means are the metrics of :data:`METRICS`.

    Returns:
        (N, 2) float64: column 0 the query's AP, column 1 1.0 when its first match is
        ranked first (else 0.0), for the N evaluated queries of ``result``.
    """
    rank1 = (np.asarray(result.first_match_rank) == 1).astype(np.float64)
    return np.stack([np.asarray(result.average_precision, dtype=np.float64), rank1], axis=1)


def resample_counts(num_actions: int, resamples: int, seed: int) -> np.ndarray:
    """How often each action is drawn in each resample (the module's draw contract).

    Args:
        num_actions: A >= 1.
        resamples: B >= 1.
        seed: non-negative seed of ``numpy.random.default_rng``.

    Returns:
        (B, A) float64 counts; every row sums to A.
    """
    _check_settings(resamples, 0.5, seed)
    if num_actions < 1:
        raise ValueError(f"num_actions must be >= 1, got {num_actions}")
    draws = np.random.default_rng(seed).integers(0, num_actions, size=(resamples, num_actions))
    draws += (np.arange(resamples, dtype=np.int64) * num_actions)[:, None]
    counts = np.bincount(draws.ravel(), minlength=resamples * num_actions)
    del draws
    return counts.reshape(resamples, num_actions).astype(np.float64)


def resampled_metrics(
    values: np.ndarray, action_idx: np.ndarray, resamples: int, seed: int
) -> np.ndarray:
    """Every resample's query-weighted means, with one matrix product.

    Args:
        values: (N, M) float64 per-query values (e.g. :func:`metric_values`).
        action_idx: (N,) int64 action of each query.
        resamples: B >= 1.
        seed: non-negative seed (draws as the module docstring says).

    Returns:
        (B, M) float64: column m of row b = mean of ``values[:, m]`` over the queries of
        the actions drawn in resample b, each counted as often as its action was drawn.
    """
    values = np.asarray(values, dtype=np.float64)
    action_idx = np.asarray(action_idx)
    if values.ndim != 2 or action_idx.shape != (values.shape[0],) or values.shape[0] == 0:
        raise ValueError(
            f"values must be (N, M) and action_idx (N,) with N >= 1; got {values.shape} "
            f"and {action_idx.shape}"
        )
    actions, code = np.unique(action_idx, return_inverse=True)
    sums = np.empty((len(actions), values.shape[1] + 1))
    for m in range(values.shape[1]):  # M is 2: a loop over metrics, not over resamples
        sums[:, m] = np.bincount(code, weights=values[:, m], minlength=len(actions))
    sums[:, -1] = np.bincount(code, minlength=len(actions))
    totals = resample_counts(len(actions), resamples, seed) @ sums
    return totals[:, :-1] / totals[:, -1:]


def bootstrap_intervals(
    result: EvalResult, resamples: int = 1000, level: float = 0.95, seed: int = 0
) -> dict[str, Interval]:
    """Percentile intervals of mAP and Rank-1 by bootstrap over actions.

    Args:
        result: the evaluated queries (``average_precision``, ``first_match_rank``,
            ``action_idx``).
        resamples: B >= 1 (1,000 is plenty for a 95 % interval).
        level: coverage in (0, 1).
        seed: non-negative seed of the draws.

    Returns:
        ``{"mAP": Interval, "rank1": Interval}``; estimates equal ``result.mAP`` and
        ``result.rank1``.
    """
    return value_intervals(metric_values(result), result.action_idx, resamples, level, seed)


def value_intervals(
    values: np.ndarray,
    action_idx: np.ndarray,
    resamples: int = 1000,
    level: float = 0.95,
    seed: int = 0,
) -> dict[str, Interval]:
    """Percentile intervals of the means of per-query values (one column per metric).

    Args:
        values: (N, 2) float64 per-query AP and rank-1 hit (:func:`metric_values`, or
            their mean over training seeds).
        action_idx: (N,) int64 action of each query.
        resamples, level, seed: as :func:`bootstrap_intervals`.

    Returns:
        ``{"mAP": Interval, "rank1": Interval}``.
    """
    _check_settings(resamples, level, seed)
    samples = resampled_metrics(values, action_idx, resamples, seed)
    return {
        name: _interval(name, _mean(values[:, m]), samples[:, m], level, seed, action_idx)
        for m, name in enumerate(METRICS)
    }


def paired_bootstrap(
    result_a: EvalResult,
    result_b: EvalResult,
    resamples: int = 1000,
    level: float = 0.95,
    seed: int = 0,
) -> dict[str, PairedDifference]:
    """Difference B - A of mAP and Rank-1, bootstrapped over the same resamples of actions.

    Args:
        result_a, result_b: two methods evaluated on the same queries (same ``bbox_idx``
            and ``action_idx``; the order may differ, queries are matched by ``bbox_idx``).
        resamples, level, seed: as :func:`bootstrap_intervals`.

    Returns:
        ``{"mAP": PairedDifference, "rank1": PairedDifference}``.

    Raises:
        DataError: the two results were not scored on the same queries.
    """
    order = align_queries(result_a, result_b)
    values_b = metric_values(result_b)[order]
    return paired_differences(
        metric_values(result_a), values_b, result_a.action_idx, resamples, level, seed
    )


def paired_differences(
    values_a: np.ndarray,
    values_b: np.ndarray,
    action_idx: np.ndarray,
    resamples: int = 1000,
    level: float = 0.95,
    seed: int = 0,
) -> dict[str, PairedDifference]:
    """B - A of per-query values of the same queries, over the same resampled actions.

    Args:
        values_a, values_b: (N, 2) float64 per-query values (:func:`metric_values`, or
            their mean over training seeds), row i the same query in both.
        action_idx: (N,) int64 action of each query.
        resamples, level, seed: as :func:`bootstrap_intervals`.

    Returns:
        ``{"mAP": PairedDifference, "rank1": PairedDifference}``.
    """
    _check_settings(resamples, level, seed)
    diff = values_b - values_a
    samples = resampled_metrics(diff, action_idx, resamples, seed)
    out = {}
    for m, name in enumerate(METRICS):
        out[name] = PairedDifference(
            metric=name,
            estimate_a=_mean(values_a[:, m]),
            estimate_b=_mean(values_b[:, m]),
            difference=_interval(name, _mean(diff[:, m]), samples[:, m], level, seed, action_idx),
            p_value=float(np.mean(samples[:, m] <= 0.0)),
            num_queries=int(diff.shape[0]),
        )
    return out


def align_queries(result_a: EvalResult, result_b: EvalResult) -> np.ndarray:
    """Positions in ``result_b`` of ``result_a``'s queries, matched by ``bbox_idx``.

    Returns:
        (N,) int64 ``order`` with ``result_b.bbox_idx[order] == result_a.bbox_idx``.

    Raises:
        DataError: the query sets differ, a ``bbox_idx`` repeats, or a query sits in
            different actions in the two results.
    """
    a, b = np.asarray(result_a.bbox_idx), np.asarray(result_b.bbox_idx)
    for label, ids in (("A", a), ("B", b)):
        if np.unique(ids).shape != ids.shape:
            raise DataError(None, f"method {label} scores a query bbox_idx more than once")
    only_a, only_b = np.setdiff1d(a, b), np.setdiff1d(b, a)
    if only_a.size or only_b.size:
        raise DataError(
            None,
            f"the two methods were not scored on the same queries: {only_a.size} only in A "
            f"(e.g. bbox_idx {only_a[:3].tolist()}), {only_b.size} only in B (e.g. "
            f"{only_b[:3].tolist()}); compare features of the same split",
        )
    sorter = np.argsort(b, kind="stable")
    order = sorter[np.searchsorted(b, a, sorter=sorter)].astype(np.int64)
    moved = np.flatnonzero(np.asarray(result_b.action_idx)[order] != result_a.action_idx)
    if moved.size:
        raise DataError(
            None,
            f"{moved.size} queries sit in different actions in the two methods (e.g. "
            f"bbox_idx {int(a[moved[0]])}): they were not evaluated on the same split",
        )
    return order


def _mean(column: np.ndarray) -> float:
    """Mean of a contiguous copy: the same summation, bit for bit, as ``EvalResult.mAP``."""
    return float(np.ascontiguousarray(column).mean())


def _interval(
    metric: str, estimate: float, samples: np.ndarray, level: float, seed: int, actions: np.ndarray
) -> Interval:
    """The percentile interval of one column of resampled values."""
    low, high = np.quantile(samples, [(1.0 - level) / 2.0, (1.0 + level) / 2.0])
    return Interval(
        metric=metric,
        estimate=estimate,
        low=float(low),
        high=float(high),
        level=float(level),
        resamples=int(samples.shape[0]),
        seed=int(seed),
        unit=UNIT,
        num_actions=int(np.unique(actions).shape[0]),
    )


def _check_settings(resamples: int, level: float, seed: int) -> None:
    """Raise ValueError naming the bad bootstrap argument."""
    if isinstance(resamples, bool) or not isinstance(resamples, int | np.integer):
        raise ValueError(f"resamples must be an integer >= 1, got {resamples!r}")
    if resamples < 1:
        raise ValueError(f"resamples must be >= 1, got {resamples}")
    if not 0.0 < float(level) < 1.0:
        raise ValueError(f"level must be in (0, 1), e.g. 0.95, got {level}")
    if isinstance(seed, bool) or not isinstance(seed, int | np.integer) or seed < 0:
        raise ValueError(f"seed must be a non-negative integer, got {seed!r}")
