"""Offline tracklet linking: join a tracker's fragments into identities.

1. Every track is cut at the shot cuts (:mod:`footreid.track.cuts`): a tracklet never
   runs across a jump of the picture.
2. Each tracklet gets one embedding: the mean of its crops' football embeddings,
   weighed by how free each crop is of other players' boxes.
3. Constraints: two tracklets that share a frame are two people (cannot-link).
4. The criterion is calibrated on the clip itself, not hand-set: same-person distances
   come from the two halves of each tracklet, different-person distances from tracklets
   that share frames; the threshold is where the two empirical distributions are best
   told apart (Youden's J). A threshold tuned on one clip does not transfer to another
   (issue 17: the best fixed one on the other half of SNMOT-116 is much higher), while
   both distributions move with the clip's lighting, kits and camera.
5. Linking is a global assignment, in rounds: each round links the pairs of a maximum-
   weight matching among the current identities (weight = threshold - distance, only
   pairs allowed by the constraints), then merges them and recomputes their embeddings,
   until no allowed pair is closer than the threshold.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from footreid.core.errors import ConfigError
from footreid.track.cuts import detect_cuts
from footreid.track.run import TRACK_ID, TrackOutput

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


@dataclass
class LinkReport:
    """What the linker did, for the log and the benchmark."""

    tracklets: int
    identities: int
    threshold: float
    cuts: list[int] = field(default_factory=list)
    same_pairs: int = 0
    different_pairs: int = 0
    rounds: int = 0


def _weighted_mean(features: np.ndarray, weights: np.ndarray) -> tuple[np.ndarray, float]:
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
        embedding, weight = _weighted_mean(features[rows], quality[rows])
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
        first, _ = _weighted_mean(features[t.rows[:half]], quality[t.rows[:half]])
        second, _ = _weighted_mean(features[t.rows[half:]], quality[t.rows[half:]])
        out.append(1.0 - float(first @ second))
    return np.asarray(out)


def youden_threshold(same: np.ndarray, different: np.ndarray) -> float:
    """The distance that best separates ``same`` (below) from ``different`` (above).

    Maximises true-positive rate minus false-positive rate over the candidate cut points
    (midpoints between the sorted pooled distances).

    Raises:
        ConfigError: either sample is empty (the clip is too short or too sparse to
            calibrate; give a fixed threshold instead).
    """
    if len(same) == 0 or len(different) == 0:
        raise ConfigError(
            "cannot calibrate the linking threshold: the clip has "
            f"{len(same)} tracklets long enough to split and {len(different)} pairs that "
            "share frames; give --link-threshold"
        )
    pooled = np.unique(np.concatenate([same, different]))
    candidates = np.r_[pooled[0] - 1e-6, (pooled[:-1] + pooled[1:]) / 2, pooled[-1] + 1e-6]
    tpr = (same[None, :] < candidates[:, None]).mean(axis=1)
    fpr = (different[None, :] < candidates[:, None]).mean(axis=1)
    return float(candidates[int(np.argmax(tpr - fpr))])


def _identity_embeddings(tracklets: list[Tracklet], groups: list[list[int]]) -> np.ndarray:
    embeddings = []
    for group in groups:
        weights = np.array([tracklets[i].weight for i in group])
        stacked = np.stack([tracklets[i].embedding for i in group])
        embeddings.append(_weighted_mean(stacked, weights)[0])
    return np.stack(embeddings)


def _matching_round(
    groups: list[list[int]], tracklets: list[Tracklet], occupancy: np.ndarray, threshold: float
) -> list[tuple[int, int]]:
    """One global assignment: the maximum-weight matching of allowed, close pairs."""
    import networkx as nx

    embeddings = _identity_embeddings(tracklets, groups)
    distance = 1.0 - embeddings @ embeddings.T
    clash = (occupancy.astype(np.int32) @ occupancy.T.astype(np.int32)) > 0
    graph = nx.Graph()
    for i, j in zip(*np.nonzero(np.triu(~clash & (distance < threshold), k=1)), strict=True):
        graph.add_edge(int(i), int(j), weight=float(threshold - distance[i, j]))
    return [tuple(sorted(pair)) for pair in nx.max_weight_matching(graph)]


def link_tracklets(
    tracklets: list[Tracklet], n_positions: int, threshold: float
) -> tuple[list[list[int]], int]:
    """Group tracklets into identities; returns the groups and the number of rounds."""
    groups = [[i] for i in range(len(tracklets))]
    occupancy = np.zeros((len(tracklets), n_positions), dtype=bool)
    for i, t in enumerate(tracklets):
        occupancy[i, t.frames] = True
    rounds = 0
    while True:
        pairs = _matching_round(groups, tracklets, occupancy, threshold)
        if not pairs:
            return groups, rounds
        rounds += 1
        merged = {j for _, j in pairs}
        for i, j in pairs:
            groups[i] = groups[i] + groups[j]
            occupancy[i] |= occupancy[j]
        keep = [k for k in range(len(groups)) if k not in merged]
        groups = [groups[k] for k in keep]
        occupancy = occupancy[keep]


def calibrate(
    tracklets: list[Tracklet], features: np.ndarray, quality: np.ndarray
) -> tuple[float, int, int]:
    """The clip's own threshold, with the numbers of same and different pairs it used."""
    same = same_person_distances(tracklets, features, quality)
    clash = overlaps(tracklets)
    embeddings = np.stack([t.embedding for t in tracklets]) if tracklets else np.zeros((0, 1))
    distance = 1.0 - embeddings @ embeddings.T
    different = distance[np.triu(clash, k=1)]
    return youden_threshold(same, different), len(same), len(different)


def link(output: TrackOutput, threshold: float | None = None) -> tuple[np.ndarray, LinkReport]:
    """Identities for a tracking pass: its rows with the track id replaced.

    Args:
        output: a pass with features (``run_tracker`` with an embedder).
        threshold: a fixed cosine-distance threshold instead of the clip's own.

    Returns:
        The (M, 7) rows with identity ids (1, 2, ... in order of first appearance), and
        a :class:`LinkReport`.
    """
    if output.features is None:
        raise ConfigError("linking needs a ReID model: give --reid (not 'none')")
    cuts = detect_cuts(output.frame_change, output.continuity)
    positions = output.positions
    track_ids = output.rows[:, TRACK_ID].astype(np.int64)
    tracklets = build_tracklets(track_ids, positions, output.features, output.quality, cuts)
    same = different = 0
    if threshold is None:
        threshold, same, different = calibrate(tracklets, output.features, output.quality)
    groups, rounds = link_tracklets(tracklets, len(output.frames), threshold)
    order = sorted(range(len(groups)), key=lambda g: min(tracklets[i].frames[0] for i in groups[g]))
    rows = output.rows.copy()
    for identity, g in enumerate(order, start=1):
        for i in groups[g]:
            rows[tracklets[i].rows, TRACK_ID] = identity
    report = LinkReport(len(tracklets), len(groups), threshold, cuts, same, different, rounds)
    return rows, report
