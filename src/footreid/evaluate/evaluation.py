"""Evaluate, compare, tune: what the ``evaluate``/``ensemble`` commands and experiments share.

* :func:`member_specs`: each member of a method alone, as the method sees it (its metric
  and its ``members`` post-steps, e.g. centring): the rows an ensemble is compared with.
* :func:`member_distances`: each member's per-action distances, as the method combines
  them: what weights are tuned on.
* :func:`tune_weights` / :func:`check_reported_split`: the weight search on a tuning split
  and the refusal to report it on that split.
* :func:`evaluate_with_members`: a method, each member alone, and the pairs (member,
  method) whose paired bootstrap over actions says whether combining helped.

Intervals and paired differences are :mod:`footreid.evaluate.intervals`'s, the one
bootstrap for the CLI (:mod:`footreid.evaluate.summary`) and experiments
(``experiment/aggregate.py``).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, replace

from footreid.core.errors import ConfigError
from footreid.core.records import FeatureSet
from footreid.evaluate.distances import ActionDistances, feature_distances
from footreid.evaluate.methods import MethodResult, MethodSpec, aligned_members, evaluate_method
from footreid.evaluate.post_steps import POST_STEPS, apply_stage
from footreid.evaluate.weight_search import (
    WeightSearch,
    refuse_tuned_split,
    search_weights,
    split_id,
)


def member_specs(spec: MethodSpec) -> list[MethodSpec]:
    """Each member of ``spec`` alone, named by the member, with ``spec``'s metric and its
    ``members`` post-steps (centring); later steps (query expansion, re-ranking) are the
    method's own and are left out."""
    steps = {name: value for name, value in spec.steps if POST_STEPS[name].stage == "members"}
    return [
        MethodSpec(name=name, kind="single", members=[name], metric=spec.metric, steps=steps)
        for name in spec.members
    ]


def member_distances(spec: MethodSpec, features: Mapping[str, FeatureSet]) -> list[ActionDistances]:
    """Per-action distances of each member of ``spec``, after its ``members`` post-steps.

    Returns:
        One :class:`ActionDistances` per member (rows aligned to the first member's),
        ``meta`` holding the features' ``split`` and ``dataset_root``.
    """
    dists = []
    for m in aligned_members(spec, features):
        dist = feature_distances(apply_stage("members", spec.steps, m), spec.metric)
        dist.meta.update({k: m.meta[k] for k in ("split", "dataset_root") if k in m.meta})
        dists.append(dist)
    return dists


def tune_weights(
    spec: MethodSpec, tune_features: Mapping[str, FeatureSet], step: float = 0.1
) -> tuple[MethodSpec, WeightSearch]:
    """Grid-search the member weights of an ``average`` method by mAP on a tuning split.

    Args:
        spec: an ``average`` method (its own weights are ignored).
        tune_features: model name -> features of the *tuning* split.
        step: simplex grid spacing (``footreid.evaluate.weight_search.search_weights``).

    Returns:
        ``spec`` with the tuned weights, and the search (scores on the tuning split only).
    """
    if spec.kind != "average" or len(spec.members) < 2:
        raise ConfigError(f"method '{spec.name}': weights are tuned for averages of >= 2 models")
    search = search_weights(member_distances(spec, tune_features), step=step)
    return replace(spec, weights=[float(w) for w in search.weights]), search


def check_reported_split(
    search: WeightSearch, features: FeatureSet, allow_same_split: bool = False
) -> bool:
    """Refuse to report weights on the split they were tuned on (``--tune-on``).

    Returns:
        True when ``features`` is the tuning split (only possible with ``allow_same_split``:
        the caller must then mark the result as tuned on itself).

    Raises:
        ConfigError: ``features`` is the tuning split and ``allow_same_split`` is False.
    """
    return refuse_tuned_split(
        search.tune_split, split_id(features), allow_same_split, "--allow-same-split"
    )


@dataclass(frozen=True, kw_only=True)
class WithMembers:
    """A method evaluated beside each of its members alone.

    Attributes:
        method: the method's result.
        members: each member's result (:func:`member_specs`), in member order.
    """

    method: MethodResult
    members: list[MethodResult]

    def pairs(self) -> list[tuple[MethodResult, MethodResult]]:
        """(A, B) = (member, method) pairs for paired differences B - A."""
        return [(member, self.method) for member in self.members]


def evaluate_with_members(
    method: MethodResult, features: Mapping[str, FeatureSet], max_rank: int = 20
) -> WithMembers:
    """Each member of an evaluated method alone, on the same features."""
    assert isinstance(method.spec, MethodSpec)
    members = [evaluate_method(s, features, max_rank) for s in member_specs(method.spec)]
    return WithMembers(method=method, members=members)
