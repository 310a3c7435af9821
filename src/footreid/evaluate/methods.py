"""A *method* = which features, how they are combined, and what post-processing runs.

:class:`MethodSpec` is the plain record the experiment runner writes into
``results.json``; :func:`compute_method` rebuilds that method's per-action distances from
the run's features files, so the report and the web demo rank exactly what was scored.

Note on ensembles: with L2-normalised members, concatenation (each part a unit vector)
gives ``||[a1, b1] - [a2, b2]||^2 = ||a1 - a2||^2 + ||b1 - b2||^2``, i.e. the same ranking
as equal-weight averaging of squared-Euclidean (or cosine) distances (see
:mod:`footreid.evaluate.ensemble`). Per-query tables and per-class breakdowns of a
result are :mod:`footreid.evaluate.per_query`'s.
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from dataclasses import dataclass, fields, replace
from typing import Any

import numpy as np

from footreid.core.errors import ConfigError, DataError
from footreid.core.records import FeatureSet
from footreid.evaluate.distances import METRICS, ActionDistances, feature_distances
from footreid.evaluate.ensemble import combine_distances, concat_features
from footreid.evaluate.metrics import EvalResult, evaluate_distances
from footreid.evaluate.post_steps import POST_STEPS, apply_stage, parse_steps

KINDS: tuple[str, ...] = ("single", "concat", "average")


@dataclass(frozen=True, kw_only=True)
class MethodSpec:
    """One row of a results table (built with keywords).

    Attributes:
        name: human-readable name ("OSNet-AIN", "average 0.2/0.2/0.6 + rerank standard").
        kind: "single" (one member), "concat" (features concatenated) or "average"
            (per-member distances averaged).
        members: model names, keys of the ``features`` mapping of :func:`compute_method`.
        weights: one weight per member for "average" (normalised to sum 1), None = equal.
        metric: "cosine", "euclidean" or "sqeuclidean".
        steps: post-steps by name (:mod:`footreid.evaluate.post_steps`: ``rerank`` a
            preset or "k1,k2,lambda", ``query_expansion`` k, ``centre`` "action" or
            "view"); None, "none" or "off" is off. Kept as the (name, value) pairs that
            are on, in registry order.
    """

    name: str
    kind: str
    members: list[str]
    weights: list[float] | None = None
    metric: str = "cosine"
    steps: Mapping[str, Any] | tuple[tuple[str, Any], ...] = ()

    def __post_init__(self) -> None:
        where = f"method '{self.name}'"
        if self.kind not in KINDS:
            raise ConfigError(f"{where}: kind '{self.kind}' is not one of {', '.join(KINDS)}")
        if not self.members:
            raise ConfigError(f"{where}: members is empty")
        if self.kind == "single" and len(self.members) != 1:
            raise ConfigError(f"{where}: a single method has one member, got {self.members}")
        if self.weights is not None:
            if self.kind != "average":
                raise ConfigError(f"{where}: weights only apply to kind 'average'")
            if len(self.weights) != len(self.members) or min(self.weights) < 0:
                raise ConfigError(
                    f"{where}: weights must be {len(self.members)} non-negative numbers "
                    f"(one per member), got {self.weights}"
                )
            if sum(self.weights) <= 0:
                raise ConfigError(f"{where}: weights sum to 0")
        if self.metric not in METRICS:
            raise ConfigError(f"{where}: metric '{self.metric}' is not one of {METRICS}")
        object.__setattr__(self, "steps", parse_steps(dict(self.steps)))

    def step(self, name: str) -> Any:
        """The value of post-step ``name``, None when it is off."""
        return dict(self.steps).get(name)  # type: ignore[arg-type]

    def with_steps(self, **changes: Any) -> MethodSpec:
        """This spec with post-steps changed (None or "none" turns one off)."""
        return replace(self, steps={**dict(self.steps), **changes})  # type: ignore[arg-type]

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready dict (lists, numbers, strings, None): every post-step by name."""
        weights = None if self.weights is None else [float(w) for w in self.weights]
        out = {"name": self.name, "kind": self.kind, "members": list(self.members)}
        out |= {"weights": weights, "metric": self.metric}
        return out | {name: self.step(name) for name in POST_STEPS}

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> MethodSpec:
        """Inverse of :meth:`to_dict`; unknown keys are an error."""
        known = [f.name for f in fields(cls) if f.name != "steps"] + list(POST_STEPS)
        unknown = sorted(set(data) - set(known))
        if unknown:
            raise ConfigError(f"method spec: unknown key(s) {unknown}; known: {sorted(known)}")
        missing = sorted({"name", "kind", "members"} - set(data))
        if missing:
            raise ConfigError(f"method spec: missing key(s) {missing}")
        values = {k: v for k, v in data.items() if k not in POST_STEPS}
        values["members"] = [str(m) for m in values["members"]]
        if values.get("weights") is not None:
            values["weights"] = [float(w) for w in values["weights"]]
        steps = {k: v for k, v in data.items() if k in POST_STEPS}
        return cls(**values, steps=steps)


@dataclass(frozen=True, kw_only=True)
class FoldedSpec:
    """A method chosen separately for groups of actions (cross-fitted choices).

    Each fold's actions are ranked by that fold's :class:`MethodSpec`: e.g. ensemble
    weights searched on the other folds' queries. Every action belongs to one fold.

    Attributes:
        name: human-readable name.
        folds: ((action_idx, ...), spec) pairs.
    """

    name: str
    folds: tuple[tuple[tuple[int, ...], MethodSpec], ...]

    def __post_init__(self) -> None:
        actions = [a for fold_actions, _ in self.folds for a in fold_actions]
        if not self.folds or len(set(actions)) != len(actions):
            raise ConfigError(f"method '{self.name}': folds must hold each action once")

    @property
    def members(self) -> list[str]:
        """Every model any fold uses, in first-use order."""
        return list(dict.fromkeys(m for _, spec in self.folds for m in spec.members))

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready dict: ``{"name", "kind": "folded", "folds": [{"actions", "spec"}]}``."""
        return {
            "name": self.name,
            "kind": "folded",
            "folds": [
                {"actions": [int(a) for a in actions], "spec": spec.to_dict()}
                for actions, spec in self.folds
            ],
        }


AnySpec = MethodSpec | FoldedSpec


def method_from_dict(data: Mapping[str, Any]) -> AnySpec:
    """A :class:`MethodSpec` or :class:`FoldedSpec` from its ``to_dict``."""
    if data.get("kind") != "folded":
        return MethodSpec.from_dict(data)
    try:
        folds = tuple(
            (tuple(int(a) for a in fold["actions"]), MethodSpec.from_dict(fold["spec"]))
            for fold in data["folds"]
        )
        return FoldedSpec(name=str(data["name"]), folds=folds)
    except (KeyError, TypeError) as exc:
        raise ConfigError(f"folded method spec: malformed ({exc!r})") from None


def _row_keys(features: FeatureSet) -> np.ndarray:
    """(N,) int64 key of each row: gallery rows offset past every query ``bbox_idx``."""
    return np.where(features.role == "gallery", 1 << 40, 0) + features.bbox_idx


def aligned_members(spec: MethodSpec, features: Mapping[str, FeatureSet]) -> list[FeatureSet]:
    """The members' features, rows reordered to the first member's (role, bbox_idx) order."""
    missing = [m for m in spec.members if m not in features]
    if missing:
        raise DataError(
            None,
            f"method '{spec.name}' needs features of {missing}; available: {sorted(features)}",
        )
    first = features[spec.members[0]]
    key = _row_keys(first)
    out = [first]
    for name in spec.members[1:]:
        other = features[name]
        other_key = _row_keys(other)
        if np.array_equal(key, other_key):
            out.append(other)
            continue
        order = np.argsort(other_key, kind="stable")
        pos = np.minimum(np.searchsorted(other_key[order], key), max(len(order) - 1, 0))
        if len(other_key) != len(key) or not np.array_equal(other_key[order][pos], key):
            raise DataError(
                None,
                f"features of '{name}' and '{spec.members[0]}' hold different crops "
                f"({len(other)} vs {len(first)} rows): embed both on the same split",
            )
        out.append(other.subset(order[pos]))
    return out


def compute_method(spec: AnySpec, features: Mapping[str, FeatureSet]) -> ActionDistances:
    """Per-action distances of a method, rebuilt from its members' features.

    Order: the ``members`` post-steps (centring) on each member, concatenation, the
    ``combined`` post-steps (query expansion), distances, weighted average, the
    ``distances`` post-steps (k-reciprocal re-ranking).

    Args:
        spec: the method.
        features: model name -> features of one split (every member must be present;
            rows may come in any order, they are matched by role and ``bbox_idx``).

    Returns:
        :class:`ActionDistances` (query rows of the first member's file order; ``qg``
        (Q_a, G_a) float32, lower is closer); ``meta["method"]`` holds ``spec.to_dict()``.
    """
    if isinstance(spec, FoldedSpec):
        return _compute_folded(spec, features)
    members = [apply_stage("members", spec.steps, m) for m in aligned_members(spec, features)]
    if spec.kind == "concat":
        members = [concat_features(members)]
    members = [apply_stage("combined", spec.steps, m) for m in members]
    within = any(POST_STEPS[name].within for name, _ in spec.steps)
    dists = [feature_distances(m, spec.metric, within=within) for m in members]
    if len(dists) == 1:
        dist = dists[0]
    else:
        weights = spec.weights or [1.0] * len(dists)
        dist = combine_distances(dists, [w / sum(weights) for w in weights])
    dist = apply_stage("distances", spec.steps, dist)
    for key in ("split", "dataset_root"):
        if key in members[0].meta:
            dist.meta[key] = members[0].meta[key]
    dist.meta["method"] = spec.to_dict()
    return dist


def _compute_folded(spec: FoldedSpec, features: Mapping[str, FeatureSet]) -> ActionDistances:
    """Each fold's action blocks from its own spec, merged in action order."""
    parts = [(set(actions), compute_method(s, features)) for actions, s in spec.folds]
    first = parts[0][1]
    blocks = []
    for actions, dist in parts:
        if not np.array_equal(dist.split.query_bbox_idx, first.split.query_bbox_idx):
            raise DataError(None, f"method '{spec.name}': its folds order the queries differently")
        blocks += [b for b in dist if b.action_idx in actions]
    missing = sorted({b.action_idx for b in first} - {b.action_idx for b in blocks})
    if missing:
        raise DataError(None, f"method '{spec.name}': actions {missing[:5]} are in no fold")
    blocks.sort(key=lambda b: b.action_idx)
    meta = {**first.meta, "method": spec.to_dict()}
    return ActionDistances(first.split, blocks, first.metric, meta)


@dataclass
class MethodResult:
    """A method's distances and measured metrics, with its compute + evaluation time.

    Attributes:
        spec: the method.
        dist: its per-action distances.
        result: mAP, CMC (measured to ``max_rank``) and per-query arrays.
        query_clazz: (Q,) str class of each query row of ``dist.split`` ("" unknown).
        time_s: seconds to compute the distances and evaluate them.
    """

    spec: AnySpec
    dist: ActionDistances
    result: EvalResult
    query_clazz: np.ndarray
    time_s: float

    def metrics(self) -> dict[str, Any]:
        """``{"mAP", "rank1", "cmc" (max_rank floats), "num_queries"}``, fractions in [0, 1]."""
        r = self.result
        return {
            "mAP": float(r.mAP),
            "rank1": float(r.rank1),
            "cmc": [float(v) for v in r.cmc],
            "num_queries": int(r.num_queries),
        }


def evaluate_method(
    spec: AnySpec, features: Mapping[str, FeatureSet], max_rank: int = 20
) -> MethodResult:
    """Compute a method's distances and measure them by the per-action protocol."""
    start = time.perf_counter()
    dist = compute_method(spec, features)
    result = evaluate_distances(dist, max_rank=max_rank)
    elapsed = time.perf_counter() - start
    plain = spec.folds[0][1] if isinstance(spec, FoldedSpec) else spec
    first = aligned_members(plain, features)[0]
    return MethodResult(spec, dist, result, first.clazz[first.role == "query"], elapsed)
