"""Centring: remove what a group of crops shares before comparing them.

Within one action every crop shows the same two kits, the same light and the same
broadcast; a feature holds that shared part too, and it says nothing about *which*
player a crop shows. Two groupings:

* ``action``: subtract the mean feature of the action's crops (queries and gallery).
* ``view``: subtract the mean of the action's queries from its queries and the mean of
  its gallery from its gallery. In SoccerNet the queries are the live view and the
  gallery the replays, shot by other cameras at other moments: each side has its own
  zoom, angle and colour style, and the difference of their means is that shift.

Then every row is L2-normalised again. No labels are used, only the crops of the query's
own action and which side (query or gallery) they are on, so it applies to any split,
the challenge included, like per-action re-ranking does.
"""

from __future__ import annotations

from dataclasses import replace

import numpy as np

from footreid.core.errors import ConfigError
from footreid.core.records import FeatureSet

MODES: tuple[str, ...] = ("action", "view")
TINY = 1e-12


def check_mode(mode: str | None) -> str | None:
    """``mode`` when it is None or one of :data:`MODES`, else a ConfigError."""
    if mode is not None and mode not in MODES:
        raise ConfigError(f"centring '{mode}' is not one of {', '.join(MODES)} (or none)")
    return mode


def centre_features(features: FeatureSet, mode: str = "action") -> FeatureSet:
    """Features minus the mean feature of their group, L2-normalised again.

    Args:
        features: L2-normalised (N, D) float32 features of one split.
        mode: ``action`` (group = the action) or ``view`` (group = the action's queries,
            or its gallery).

    Returns:
        The same rows, (N, D) float32 unit vectors; a crop that equals its group's mean
        (e.g. the only crop of its group) keeps its own feature.
    """
    check_mode(mode)
    x = features.features.astype(np.float64)
    keys = features.action_idx.astype(np.int64) * 2
    if mode == "view":
        keys = keys + (features.role == "gallery")
    groups, inverse = np.unique(keys, return_inverse=True)
    sums = np.zeros((len(groups), x.shape[1]))
    np.add.at(sums, inverse, x)
    counts = np.bincount(inverse, minlength=len(groups))[:, None]
    centred = x - (sums / counts)[inverse]
    norms = np.linalg.norm(centred, axis=1, keepdims=True)
    keep = norms[:, 0] <= TINY
    centred[keep], norms[keep] = x[keep], np.linalg.norm(x[keep], axis=1, keepdims=True)
    out = (centred / np.maximum(norms, TINY)).astype(np.float32)
    return replace(features, features=out, meta={**features.meta, "centred": mode})
