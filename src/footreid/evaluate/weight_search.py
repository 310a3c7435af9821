"""Ensemble weights chosen on a tuning split, never on the split they are reported on.

Weight search: a grid over the simplex (:func:`simplex_grid`), every candidate scored by
mAP on a *tuning* split (:func:`search_weights`). Weights chosen on the split they are
then reported on fit that split's noise as well as its signal, so the reported number
is optimistic: :func:`refuse_tuned_split` (used by :func:`report_tuned` and by
``footreid ensemble --tune-on``) refuses it unless asked explicitly, and then the
result must be marked as tuned on itself. A split is identified by its meta and its
labels (:class:`SplitId`), so a renamed copy of the tuning split is still caught.
"""

from __future__ import annotations

import hashlib
import itertools
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np

from footreid.core.errors import ConfigError
from footreid.core.log import get_logger
from footreid.core.records import FeatureSet
from footreid.evaluate.distances import ActionBlock, ActionDistances, EvalSplit
from footreid.evaluate.ensemble import Normalise, check_aligned, combine_distances, distance_scales
from footreid.evaluate.metrics import EvalResult, evaluate_distances

log = get_logger(__name__)


@dataclass(frozen=True)
class SplitId:
    """What identifies a split: its name and dataset root (from meta) and its labels.

    Attributes:
        name: meta ``split`` ("valid", "test", ...) or None when unknown.
        dataset: meta ``dataset_root`` (or ``dataset``) or None when unknown.
        fingerprint: SHA-256 of the query/gallery ``bbox_idx`` and ``action_idx`` arrays.
        queries: the query (action_idx, bbox_idx, person_uid) triples, for overlap checks.
    """

    name: str | None
    dataset: str | None
    fingerprint: str
    queries: frozenset[tuple[int, int, str]] = field(repr=False)

    @property
    def label(self) -> str:
        where = f" of {self.dataset}" if self.dataset else ""
        return f"{self.name or 'unnamed split'}{where} ({self.fingerprint[:12]})"

    def same_as(self, other: SplitId) -> bool:
        """Same labels, or compatible names/roots sharing at least one query crop."""
        if self.fingerprint == other.fingerprint:
            return True
        names_ok = None in (self.name, other.name) or self.name == other.name
        roots_ok = None in (self.dataset, other.dataset) or self.dataset == other.dataset
        return names_ok and roots_ok and not self.queries.isdisjoint(other.queries)


def split_id(obj: FeatureSet | ActionDistances) -> SplitId:
    """The :class:`SplitId` of a features file or of distances (meta + labels)."""
    split = obj.split if isinstance(obj, ActionDistances) else EvalSplit.from_features(obj)
    digest = hashlib.sha256()
    for arr in (split.query_bbox_idx, split.query_action_idx):
        digest.update(np.ascontiguousarray(arr, dtype=np.int64).tobytes())
    digest.update(b"|")
    for arr in (split.gallery_bbox_idx, split.gallery_action_idx):
        digest.update(np.ascontiguousarray(arr, dtype=np.int64).tobytes())
    name, dataset = obj.meta.get("split"), obj.meta.get("dataset_root", obj.meta.get("dataset"))
    q_keys = (split.query_action_idx, split.query_bbox_idx, split.query_person_uid)
    triples = zip(*(k.tolist() for k in q_keys), strict=True)
    return SplitId(
        name=None if name is None else str(name),
        dataset=None if dataset is None else str(dataset),
        fingerprint=digest.hexdigest(),
        queries=frozenset(triples),
    )


def simplex_grid(num_models: int, step: float) -> list[tuple[float, ...]]:
    """Every weight vector of ``num_models`` multiples of ``step`` summing to 1.

    Args:
        num_models: M >= 1.
        step: grid spacing in (0, 1]; 1/step must be (close to) an integer.

    Returns:
        C(n + M - 1, M - 1) tuples (n = 1/step), in lexicographic order of the counts.
    """
    n = round(1.0 / step) if step > 0 else 0
    if num_models < 1 or n < 1 or abs(n * step - 1.0) > 1e-6:
        raise ConfigError(
            f"weight grid: need >= 1 model and a step dividing 1 (0.5, 0.1, 0.05, ...), "
            f"got {num_models} models and step {step}"
        )
    grid = []
    for bars in itertools.combinations(range(n + num_models - 1), num_models - 1):
        edges = (-1, *bars, n + num_models - 1)
        counts = [edges[k + 1] - edges[k] - 1 for k in range(num_models)]
        grid.append(tuple(c / n for c in counts))
    return sorted(grid, reverse=True)


@dataclass
class WeightSearch:
    """Weights chosen on a tuning split.

    Attributes:
        weights: (M,) the best weights (highest mAP, then rank-1, then grid order).
        tune_mAP, tune_rank1: their scores on the tuning split (never a reported result).
        tried: every (weights, mAP) of the grid on the tuning split.
        tune_split: identity of the tuning split.
        normalise, step: the search's settings.
    """

    weights: tuple[float, ...]
    tune_mAP: float
    tune_rank1: float
    tried: list[tuple[tuple[float, ...], float]]
    tune_split: SplitId
    normalise: str
    step: float


def weight_grid_results(
    dists: Sequence[ActionDistances],
    step: float = 0.1,
    normalise: Normalise = "none",
    max_rank: int = 20,
) -> list[tuple[tuple[float, ...], EvalResult]]:
    """Every weight vector of the simplex grid with its result on ``dists``' split.

    Args:
        dists: M model distances of one split (aligned).
        step: grid spacing over the simplex (0.1 and 3 models: 66 candidates).
        normalise: per-model normalisation, as in :func:`combine_distances`.
        max_rank: CMC length.

    Returns:
        (weights, result) in :func:`simplex_grid` order.
    """
    grid = simplex_grid(len(dists), step)
    check_aligned(dists)
    scales = distance_scales(dists, normalise)
    flats = [np.concatenate([b.qg.ravel() for b in d]).astype(np.float64) / s
             for d, s in zip(dists, scales, strict=True)]  # fmt: skip
    cuts = np.cumsum([b.qg.size for b in dists[0].blocks])[:-1]
    out = []
    for w in grid:
        flat = sum(wi * f for wi, f in zip(w, flats, strict=True)).astype(np.float32)
        blocks = [
            ActionBlock(b.action_idx, b.query, b.gallery, part.reshape(b.qg.shape))
            for b, part in zip(dists[0].blocks, np.split(flat, cuts), strict=True)
        ]
        res = evaluate_distances(ActionDistances(dists[0].split, blocks, "ensemble"), max_rank)
        out.append((w, res))
    return out


def search_weights(
    tune: Sequence[ActionDistances],
    step: float = 0.1,
    normalise: Normalise = "none",
    max_rank: int = 20,
) -> WeightSearch:
    """Grid-search distance-averaging weights that maximise mAP on ``tune``.

    Args:
        tune: M model distances of the tuning split (aligned).
        step: grid spacing over the simplex (0.1 and 3 models: 66 candidates).
        normalise: per-model normalisation, as in :func:`combine_distances`.
        max_rank: CMC length used for the scores.
    """
    results = weight_grid_results(tune, step, normalise, max_rank)
    k = max(range(len(results)), key=lambda i: (results[i][1].mAP, results[i][1].rank1, -i))
    weights, best = results[k]
    tried = [(w, res.mAP) for w, res in results]
    log.info("tuned weights %s: mAP %.4f on the tuning split", weights, best.mAP)
    return WeightSearch(weights, best.mAP, best.rank1, tried, split_id(tune[0]), normalise, step)


@dataclass
class TunedReport:
    """Tuned weights scored on a report split.

    Attributes:
        search: the :class:`WeightSearch` (tuning side).
        report_split: identity of the split the result is measured on.
        result: metrics of the weighted ensemble on the report split.
        dist: the combined distances of the report split (for re-ranking or export).
    """

    search: WeightSearch
    report_split: SplitId
    result: EvalResult
    dist: ActionDistances


def report_tuned(
    search: WeightSearch,
    report: Sequence[ActionDistances],
    allow_same_split: bool = False,
    max_rank: int = 20,
) -> TunedReport:
    """Score weights tuned by :func:`search_weights` on another split.

    Raises:
        ConfigError: when ``report`` is the tuning split (see :meth:`SplitId.same_as`)
            and ``allow_same_split`` is False.
    """
    check_aligned(report)
    if len(report) != len(search.weights):
        raise ConfigError(
            f"{len(search.weights)} weights were tuned but {len(report)} models are reported"
        )
    report_id = split_id(report[0])
    refuse_tuned_split(search.tune_split, report_id, allow_same_split, "allow_same_split=True")
    dist = combine_distances(report, search.weights, search.normalise)  # type: ignore[arg-type]
    return TunedReport(search, report_id, evaluate_distances(dist, max_rank), dist)


def refuse_tuned_split(tuned_on: SplitId, reported: SplitId, allow: bool, override: str) -> bool:
    """Refuse to report a choice on the split it was tuned on.

    Args:
        tuned_on: the split the weights were chosen on.
        reported: the split the result would be reported on.
        allow: report anyway (the caller must then mark the result as tuned on itself).
        override: how the caller's user allows it, for the message
            (``allow_same_split=True``, ``--allow-same-split``).

    Returns:
        True when ``reported`` is the tuning split (only possible with ``allow``).

    Raises:
        ConfigError: ``reported`` is the tuning split and ``allow`` is False.
    """
    same = reported.same_as(tuned_on)
    if same and not allow:
        raise ConfigError(
            f"the weights were tuned on {tuned_on.label} and would be reported on "
            f"{reported.label}, the same split: tune on another split (e.g. tune on valid, "
            f"report on test), or pass {override} to report them marked as tuned on itself"
        )
    return same
