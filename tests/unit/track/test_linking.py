"""The tracklet linker: cannot-link constraints, cuts, the calibrated threshold, the matching."""

from __future__ import annotations

import numpy as np
import pytest

from footreid.core.errors import ConfigError
from footreid.track.linking import link, youden_threshold
from footreid.track.run import TrackOutput
from footreid.track.tracklets import build_tracklets, overlaps


def _unit(rng: np.random.Generator, centre: np.ndarray, n: int, noise: float) -> np.ndarray:
    x = centre[None, :] + noise * rng.standard_normal((n, len(centre)))
    return (x / np.linalg.norm(x, axis=1, keepdims=True)).astype(np.float32)


def _output(pieces: list[tuple[int, range, np.ndarray]], n_frames: int, cut_at: int | None = None):
    """A tracking pass from (track id, frames, person centre) pieces; one box per row."""
    rng = np.random.default_rng(0)
    rows, feats = [], []
    for track_id, frames, centre in pieces:
        for f in frames:
            rows.append([f, track_id, 10.0 * track_id, 0, 10, 20, 1])
        feats.append(_unit(rng, centre, len(frames), 0.15))
    change = np.full(n_frames, 3.0, dtype=np.float32)
    change[0] = 0
    if cut_at is not None:
        change[cut_at - 1] = 30.0  # frame cut_at (1-based) jumps
    return TrackOutput(
        rows=np.asarray(rows, dtype=np.float64),
        features=np.concatenate(feats),
        quality=np.ones(len(rows), dtype=np.float32),
        frames=list(range(1, n_frames + 1)),
        frame_change=change,
        continuity=np.ones(n_frames, dtype=np.float32),
        seconds=1.0,
    )


def _people(k: int, dim: int = 32) -> list[np.ndarray]:
    rng = np.random.default_rng(1)
    return [rng.standard_normal(dim) for _ in range(k)]


def test_fragments_of_one_person_join_and_co_occurring_people_do_not() -> None:
    a, b, c = _people(3)
    output = _output(
        [(1, range(1, 30), a), (2, range(36, 60), a), (3, range(1, 60), b), (4, range(1, 60), c)],
        60,
    )
    rows, report = link(output)
    ids = {int(t): set(rows[output.rows[:, 1] == t, 1].astype(int)) for t in (1, 2, 3, 4)}
    assert ids[1] == ids[2] and len(ids[1]) == 1
    assert ids[3] != ids[1] and ids[4] != ids[1] and ids[3] != ids[4]
    assert report.identities == 3 and report.tracklets == 4


def test_tracklets_sharing_a_frame_never_join_even_when_identical() -> None:
    (a,) = _people(1)
    output = _output([(1, range(1, 40), a), (2, range(30, 60), a)], 60)
    rows, report = link(output, threshold=1.5)  # every pair is close enough
    assert report.identities == 2
    assert len(np.unique(rows[:, 1])) == 2


def test_a_track_running_across_a_cut_is_split_and_relinked() -> None:
    a, b = _people(2)
    # the tracker carried id 1 from person a to person b at the cut (frame 31), and
    # person a comes back as id 2
    pieces = [(1, range(1, 31), a), (2, range(31, 61), a), (3, range(1, 31), b)]
    output = _output(pieces, 60, cut_at=31)
    # track 1 goes on after the cut with b's appearance
    after = np.array([[f, 1, 10, 0, 10, 20, 1] for f in range(31, 61)], dtype=np.float64)
    output.rows = np.concatenate([output.rows, after])
    output.features = np.concatenate(
        [output.features, _unit(np.random.default_rng(5), b, 30, 0.15)]
    )
    output.quality = np.ones(len(output.rows), dtype=np.float32)
    rows, report = link(output)
    assert report.cuts == [30]
    first_a = rows[(output.rows[:, 1] == 1) & (output.rows[:, 0] < 31), 1]
    later_a = rows[output.rows[:, 1] == 2, 1]
    later_b = rows[(output.rows[:, 1] == 1) & (output.rows[:, 0] >= 31), 1]
    first_b = rows[output.rows[:, 1] == 3, 1]
    assert len(set(first_a) | set(later_a)) == 1
    assert len(set(first_b) | set(later_b)) == 1
    assert set(first_a) != set(first_b)


def test_tracklets_split_at_cuts_and_overlap_matrix() -> None:
    ids = np.array([1, 1, 1, 1, 2, 2])
    positions = np.array([0, 1, 2, 3, 2, 3])
    feats = np.eye(6, 4, dtype=np.float32)[[0, 0, 1, 1, 2, 2]]
    tracklets = build_tracklets(ids, positions, feats, np.ones(6), cuts=[2])
    assert [t.frames.tolist() for t in tracklets] == [[0, 1], [2, 3], [2, 3]]
    clash = overlaps(tracklets)
    assert clash[1, 2] and not clash[0, 1] and not clash[0, 2]


def test_quality_weighs_the_tracklet_embedding() -> None:
    feats = np.array([[1, 0], [0, 1]], dtype=np.float32)
    (t,) = build_tracklets(np.array([1, 1]), np.array([0, 1]), feats, np.array([1.0, 0.0]), [])
    assert np.allclose(t.embedding, [1, 0])


def test_youden_threshold_separates_the_samples() -> None:
    same = np.array([0.05, 0.1, 0.12, 0.2])
    different = np.array([0.3, 0.45, 0.5, 0.7])
    t = youden_threshold(same, different)
    assert 0.2 < t < 0.3


def test_a_clip_too_sparse_to_calibrate_asks_for_a_threshold() -> None:
    (a,) = _people(1)
    output = _output([(1, range(1, 5), a)], 10)  # one short tracklet: nothing to compare
    with pytest.raises(ConfigError, match="--link-threshold"):
        link(output)
    rows, report = link(output, threshold=0.3)
    assert report.criteria.threshold == report.criteria.gate == 0.3 and len(rows) == 4


def test_linking_without_features_is_refused() -> None:
    (a,) = _people(1)
    output = _output([(1, range(1, 10), a)], 10)
    output.features = None
    with pytest.raises(ConfigError, match="needs a ReID model"):
        link(output)
