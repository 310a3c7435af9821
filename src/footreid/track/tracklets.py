"""Tracklets: the pieces of a tracker's tracks within one shot, with one embedding each."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

_MIN_HALF = 4  # crops per half for a tracklet to give a same-person distance


@dataclass
class Tracklet:
    """A piece of one track within one shot.

    Attributes:
        rows: indices into the tracking output's rows.
        frames: the frames it covers (sorted positions in the frames read).
        embedding: quality-weighted mean of its crops' unit features, unit length.
        weight: sum of its crops' quality weights.
    """

    rows: np.ndarray
    frames: np.ndarray
    embedding: np.ndarray
    weight: float


def weighted_mean(features: np.ndarray, weights: np.ndarray) -> tuple[np.ndarray, float]:
    total = float(weights.sum())
    if total <= 0:  # every crop fully covered: fall back to a plain mean
        weights, total = np.ones(len(features)), float(len(features))
    mean = (features * weights[:, None]).sum(axis=0) / total
    return mean / max(float(np.linalg.norm(mean)), 1e-12), total


def build_tracklets(
    track_ids: np.ndarray,
    positions: np.ndarray,
    features: np.ndarray,
    quality: np.ndarray,
    cuts: list[int],
) -> list[Tracklet]:
    """Tracklets from per-row track ids and frame positions, split at ``cuts``.

    Args:
        track_ids: (M,) the tracker's id of each row.
        positions: (M,) index of each row's frame among the frames read.
        features: (M, D) unit embeddings of the rows' crops.
        quality: (M,) crop quality in [0, 1] (the weight of the crop).
        cuts: positions where a new shot starts.
    """
    shot = np.searchsorted(np.asarray(cuts, dtype=np.int64), positions, side="right")
    tracklets = []
    for key in sorted(set(zip(track_ids.tolist(), shot.tolist(), strict=True))):
        rows = np.flatnonzero((track_ids == key[0]) & (shot == key[1]))
        rows = rows[np.argsort(positions[rows], kind="stable")]
        embedding, weight = weighted_mean(features[rows], quality[rows])
        tracklets.append(Tracklet(rows, np.unique(positions[rows]), embedding, weight))
    return tracklets


def overlaps(tracklets: list[Tracklet]) -> np.ndarray:
    """(T, T) bool: tracklets i and j share a frame (so they are two people)."""
    count = len(tracklets)
    out = np.zeros((count, count), dtype=bool)
    spans = [(t.frames[0], t.frames[-1]) for t in tracklets]
    for i in range(count):
        for j in range(i + 1, count):
            if spans[i][0] <= spans[j][1] and spans[j][0] <= spans[i][1]:
                shared = np.intersect1d(tracklets[i].frames, tracklets[j].frames).size > 0
                out[i, j] = out[j, i] = shared
    return out


def same_person_distances(
    tracklets: list[Tracklet], features: np.ndarray, quality: np.ndarray
) -> np.ndarray:
    """Cosine distances between the first and second half of each long enough tracklet."""
    out = []
    for t in tracklets:
        if len(t.rows) < 2 * _MIN_HALF:
            continue
        half = len(t.rows) // 2
        first, _ = weighted_mean(features[t.rows[:half]], quality[t.rows[:half]])
        second, _ = weighted_mean(features[t.rows[half:]], quality[t.rows[half:]])
        out.append(1.0 - float(first @ second))
    return np.asarray(out)
