"""Action centring: remove what every crop of an action shares before comparing them.

Within one action every crop shows the same two kits, the same light, the same camera
style; a feature holds that shared part too, and it says nothing about *which* player a
crop shows. Subtracting the mean feature of the action's crops (queries and gallery
together, no labels) and re-normalising leaves what tells the players of that action
apart. Like re-ranking, it uses only the crops of the query's own action, so it applies
to any split, the challenge included.
"""

from __future__ import annotations

from dataclasses import replace

import numpy as np

from footreid.core.records import FeatureSet

TINY = 1e-12


def centre_actions(features: FeatureSet) -> FeatureSet:
    """Features minus their action's mean feature, L2-normalised again.

    Args:
        features: L2-normalised (N, D) float32 features of one split.

    Returns:
        The same rows, (N, D) float32 unit vectors; a crop that equals its action's mean
        (e.g. the only crop of its action) keeps its own feature.
    """
    x = features.features.astype(np.float64)
    actions, inverse = np.unique(features.action_idx, return_inverse=True)
    sums = np.zeros((len(actions), x.shape[1]))
    np.add.at(sums, inverse, x)
    counts = np.bincount(inverse, minlength=len(actions))[:, None]
    centred = x - (sums / counts)[inverse]
    norms = np.linalg.norm(centred, axis=1, keepdims=True)
    keep = norms[:, 0] <= TINY
    centred[keep], norms[keep] = x[keep], np.linalg.norm(x[keep], axis=1, keepdims=True)
    out = (centred / np.maximum(norms, TINY)).astype(np.float32)
    meta = {**features.meta, "action_centred": True}
    return replace(features, features=out, meta=meta)
