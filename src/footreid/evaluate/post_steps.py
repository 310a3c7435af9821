"""Post-steps of a method: what runs on its features or distances besides the combination.

A post-step is registered here by name (the key a :class:`~.methods.MethodSpec` and
``results.json`` give it) with the point of :func:`~.methods.compute_method` where it
runs, the parser of its value and the function that applies it:

* ``members``: on each member's features, before members are combined (centring);
* ``combined``: on each feature set after concatenation (query expansion);
* ``distances``: on the combined per-action distances (re-ranking).

A value is parsed once, where it enters (a spec, a CLI option, an experiment config):
``None``, ``"none"`` and ``"off"`` all mean off and become ``None``, the one internal
value. Adding a post-step: a module with its parse and apply functions, and one
:func:`register` line below (``docs/architecture.md``, "Adding an evaluation post-step").
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, Literal

from footreid.core.errors import ConfigError
from footreid.core.registry import suggest
from footreid.evaluate.centring import centre_features, check_mode
from footreid.evaluate.query_expansion import QueryExpansion, expand_features
from footreid.evaluate.rerank import parse_rerank, rerank

Stage = Literal["members", "combined", "distances"]
OFF: tuple[str, ...] = ("none", "off")
"""How a user may write "off" (besides null / None); every post-step reads them as None."""


@dataclass(frozen=True, kw_only=True)
class PostStep:
    """One registered post-step.

    Attributes:
        name: its key in a method spec and in ``results.json``.
        stage: where it runs (see the module docstring).
        parse: value as given (never None or an "off" spelling) -> the value kept in the
            spec; raises ConfigError naming the problem.
        apply: (features or distances, parsed value) -> the same kind, processed.
        within: the step needs the query-query and gallery-gallery blocks
            (``feature_distances(within=True)``).
    """

    name: str
    stage: Stage
    parse: Callable[[Any], Any]
    apply: Callable[[Any, Any], Any]
    within: bool = False


POST_STEPS: dict[str, PostStep] = {}
"""Registered post-steps, in the order a spec lists them (``results.json`` key order)."""


def register(step: PostStep) -> PostStep:
    """Add ``step`` to :data:`POST_STEPS` (a name registered twice is an error)."""
    if step.name in POST_STEPS:
        raise ValueError(f"post-step '{step.name}' is registered twice")
    POST_STEPS[step.name] = step
    return step


def parse_step(name: str, value: Any) -> Any:
    """The internal value of post-step ``name``: None when off, else its parsed value.

    Raises:
        ConfigError: ``name`` is not a registered post-step, or the value is invalid.
    """
    if name not in POST_STEPS:
        raise ConfigError(f"unknown post-step '{name}'; {suggest(name, POST_STEPS)}")
    if value is None or (isinstance(value, str) and value.strip().lower() in OFF):
        return None
    return POST_STEPS[name].parse(value)


def parse_steps(values: Mapping[str, Any]) -> tuple[tuple[str, Any], ...]:
    """The steps that are on, as (name, parsed value) pairs in registry order."""
    parsed = {name: parse_step(name, value) for name, value in values.items()}
    return tuple((n, parsed[n]) for n in POST_STEPS if parsed.get(n) is not None)


def apply_stage(stage: Stage, steps: tuple[tuple[str, Any], ...], item: Any) -> Any:
    """``item`` (features or distances) through the steps of ``stage``, in order."""
    for name, value in steps:
        if POST_STEPS[name].stage == stage:
            item = POST_STEPS[name].apply(item, value)
    return item


def _parse_rerank(value: Any) -> str:
    parse_rerank(str(value))
    return str(value)


def _parse_query_expansion(value: Any) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise ConfigError(f"query_expansion k must be an integer >= 1, got {value!r}")
    return int(value)


register(PostStep(name="rerank", stage="distances", parse=_parse_rerank,
                  apply=lambda d, v: rerank(d, parse_rerank(v)), within=True))  # fmt: skip
register(PostStep(name="query_expansion", stage="combined", parse=_parse_query_expansion,
                  apply=lambda f, k: expand_features(f, QueryExpansion(top_k=k))))  # fmt: skip
register(PostStep(name="centre", stage="members", parse=check_mode, apply=centre_features))
