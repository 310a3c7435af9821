"""Choices made away from the queries they are reported on: a tuning split, or cross-fitting.

Every choice an experiment makes (ensemble weights from a grid, the ensemble that gets
re-ranked, the headline method) takes the candidate with the highest mAP on *tuning*
queries and is reported on other queries:

* ``split``: the tuning queries are another split (tune on valid, report on test); one
  choice covers every reported query.
* ``crossfit``: the reported split's actions are dealt into K folds (seeded); the queries
  of fold k are reported with the choice made on the queries of the other folds, so no
  reported query is scored by a choice that saw its action. For data with one labelled
  evaluation split (snmot-reid: valid only). The folds share people and cameras, so this
  is honest about the *choice*, not a substitute for a test split from another match.
* ``none``: choices made on the reported queries themselves; the results say so.

An AP depends only on its own action's distances, so scoring a candidate on a subset of
actions is a mean over that subset's per-query APs: candidates are evaluated once.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from typing import Generic, TypeVar

import numpy as np

from footreid.core.errors import ConfigError
from footreid.evaluate.metrics import EvalResult

K = TypeVar("K")
MODES: tuple[str, ...] = ("split", "crossfit", "none")


@dataclass(frozen=True)
class Fold:
    """Reported queries that share one choice, and the tuning queries it is made on.

    Attributes:
        actions: (F,) int64 reported actions of the fold, ascending.
        report: (N,) bool over the reported result's query rows.
        tune: (M,) bool over the tuning result's query rows.
    """

    actions: np.ndarray
    report: np.ndarray
    tune: np.ndarray


@dataclass(frozen=True)
class Choice(Generic[K]):
    """The candidate chosen for each fold and the tuning mAP of every candidate there.

    Attributes:
        picks: the chosen key of each fold, in fold order.
        scores: per fold, candidate key -> mAP on that fold's tuning queries.
    """

    picks: list[K]
    scores: list[dict[K, float]]


@dataclass(frozen=True)
class Tuning:
    """How an experiment keeps choices away from the reported queries.

    Attributes:
        mode: ``split``, ``crossfit`` or ``none`` (see the module docstring).
        folds: K of cross-fitting (>= 2).
        seed: seed of the deal of actions into folds.
        tuning_split: name of the tuning split (``split`` mode), for messages.
    """

    mode: str
    folds: int = 2
    seed: int = 0
    tuning_split: str | None = None

    def __post_init__(self) -> None:
        if self.mode not in MODES:
            raise ConfigError(f"tuning mode must be one of {', '.join(MODES)}, got {self.mode}")
        if self.mode == "crossfit" and self.folds < 2:
            raise ConfigError(f"cross-fitting needs >= 2 folds, got {self.folds}")
        if self.mode == "split" and not self.tuning_split:
            raise ConfigError("tuning mode 'split' needs the name of the tuning split")

    @property
    def tunes_on_reported(self) -> bool:
        """True when results are tuned on the queries they are reported on (``none``)."""
        return self.mode == "none"

    def describe(self, reported: str) -> str:
        """One sentence for results.md: where the choices were made."""
        if self.mode == "split":
            return f"choices made on {self.tuning_split}, reported on {reported}"
        if self.mode == "crossfit":
            return (
                f"choices cross-fitted over {self.folds} folds of the actions of {reported} "
                f"(fold draw {self.seed}): each fold reported with the choice made on the others"
            )
        return f"choices made on {reported} itself (no tuning data): optimistic"

    def make_folds(self, reported: EvalResult, tuning: EvalResult | None = None) -> list[Fold]:
        """The folds over ``reported``'s queries (``tuning``: the tuning split's result)."""
        actions = np.unique(reported.action_idx)
        if self.mode == "split":
            if tuning is None:
                raise ConfigError("tuning mode 'split' needs the tuning split's result")
            everything = np.ones(len(reported.action_idx), dtype=bool)
            return [Fold(actions, everything, np.ones(len(tuning.action_idx), dtype=bool))]
        if self.mode == "none":
            everything = np.ones(len(reported.action_idx), dtype=bool)
            return [Fold(actions, everything, everything)]
        if len(actions) < self.folds:
            raise ConfigError(
                f"cross-fitting over {self.folds} folds needs >= {self.folds} actions, "
                f"the reported split has {len(actions)}"
            )
        order = np.random.default_rng(self.seed).permutation(len(actions))
        folds = []
        for k in range(self.folds):
            fold_actions = np.sort(actions[order[k :: self.folds]])
            inside = np.isin(reported.action_idx, fold_actions)
            folds.append(Fold(fold_actions, inside, ~inside))
        return folds


def choose(
    candidates: Sequence[K], tune_results: Mapping[K, EvalResult], folds: Sequence[Fold]
) -> Choice[K]:
    """Per fold, the candidate with the highest mAP on the fold's tuning queries.

    Ties go to the earlier candidate (list the simpler ones first).

    Args:
        candidates: keys of ``tune_results``, in order of preference on ties.
        tune_results: each candidate's result on the tuning queries (the tuning split,
            or the reported split itself when cross-fitting).
        folds: from :meth:`Tuning.make_folds`.
    """
    if not candidates:
        raise ConfigError("nothing to choose from: no candidate")
    picks, scores = [], []
    for fold in folds:
        fold_scores = {key: _masked_map(tune_results[key], fold.tune) for key in candidates}
        best = max(candidates, key=lambda key: fold_scores[key])  # first of the maxima
        picks.append(best)
        scores.append(fold_scores)
    return Choice(picks, scores)


def _masked_map(result: EvalResult, mask: np.ndarray) -> float:
    if mask.shape != result.average_precision.shape:
        raise ValueError(
            f"fold mask of {mask.shape[0]} queries for a result of {len(result.average_precision)}"
        )
    if not mask.any():
        raise ConfigError("a fold has no tuning query: use fewer folds")
    return float(result.average_precision[mask].mean())


def assemble(picks: Sequence[EvalResult], folds: Sequence[Fold]) -> EvalResult:
    """One result whose fold-k queries come from ``picks[k]`` (all on the same queries).

    Raises:
        ValueError: the picked results do not score the same queries.
    """
    first = picks[0]
    ap = np.empty_like(first.average_precision)
    rank = np.empty_like(first.first_match_rank)
    covered = np.zeros(len(ap), dtype=bool)
    for result, fold in zip(picks, folds, strict=True):
        if not np.array_equal(result.query_row, first.query_row):
            raise ValueError("the chosen methods do not score the same queries")
        ap[fold.report] = result.average_precision[fold.report]
        rank[fold.report] = result.first_match_rank[fold.report]
        covered |= fold.report
    if not covered.all():
        raise ValueError(f"{int((~covered).sum())} reported queries belong to no fold")
    ranks = np.arange(1, first.max_rank + 1)
    cmc = (rank[None, :] <= ranks[:, None]).mean(axis=1, dtype=np.float64)
    return replace(
        first,
        mAP=float(ap.mean()),
        rank1=float(cmc[0]),
        cmc=cmc,
        average_precision=ap,
        first_match_rank=rank,
    )
