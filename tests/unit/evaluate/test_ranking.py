"""Challenge rankings: export order, the official evaluator's rules, and agreement with it."""

from __future__ import annotations

import copy
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from footreid.core.errors import DataError, RankingError
from footreid.evaluate.distances import EvalSplit, action_distances
from footreid.evaluate.metrics import evaluate_distances
from footreid.evaluate.ranking import (
    check_ranking,
    evaluate_ranking,
    load_ground_truth,
    load_ranking,
    rankings_from_distances,
    score_ranking,
    write_ranking,
)


@pytest.fixture(scope="module")
def official() -> Callable[[str, str], dict[str, float]]:
    """``SoccerNet.Evaluation.ReIdentification.evaluate``: the challenge's own scorer."""
    module = pytest.importorskip("SoccerNet.Evaluation.ReIdentification")
    return module.evaluate


def split_of(queries: list[tuple[int, int, str]], gallery: list[tuple[int, int, str]]) -> EvalSplit:
    """A split from (bbox_idx, action_idx, person_uid) rows."""
    qb, qa, qu = (np.asarray(c) for c in zip(*queries, strict=True))
    gb, ga, gu = (np.asarray(c) for c in zip(*gallery, strict=True))
    return EvalSplit(qb, qa, qu.astype(np.str_), gb, ga, gu.astype(np.str_))


def write_gt(path: Path, split: EvalSplit) -> Path:
    """Write a split as an official ``bbox_info.json`` (with the extra fields it carries)."""

    def entries(bbox: np.ndarray, action: np.ndarray, uid: np.ndarray) -> dict[str, Any]:
        return {
            str(b): {
                "bbox_idx": int(b),
                "action_idx": int(a),
                "person_uid": str(u),
                "frame_idx": 0,
                "clazz": "Player_team_left",
                "id": "7",
            }
            for b, a, u in zip(bbox, action, uid, strict=True)
        }

    s = split
    gt = {
        "query": entries(s.query_bbox_idx, s.query_action_idx, s.query_person_uid),
        "gallery": entries(s.gallery_bbox_idx, s.gallery_action_idx, s.gallery_person_uid),
    }
    path.write_text(json.dumps(gt))
    return path


def random_split(rng: np.random.Generator, n_actions: int) -> EvalSplit:
    """Official-style split: every query has 1-3 replay matches plus unmatched gallery crops."""
    q_a, q_u, g_a, g_u = [], [], [], []
    for a in rng.permutation(n_actions) * 7 + 3:
        n_q = int(rng.integers(1, 6))
        for k in range(n_q):
            q_a.append(a)
            q_u.append(f"{a}-{k}")
            g_u += [f"{a}-{k}"] * int(rng.integers(1, 4))
        n_other = int(rng.integers(0, 5))
        g_u += [f"{a}-x{k}" for k in range(n_other)]
        g_a += [a] * (len(g_u) - len(g_a))
    g_perm = rng.permutation(len(g_a))  # interleave actions in the gallery
    return EvalSplit(
        query_bbox_idx=rng.permutation(len(q_a) + len(g_a))[: len(q_a)].astype(np.int64),
        query_action_idx=np.asarray(q_a, np.int64),
        query_person_uid=np.asarray(q_u),
        gallery_bbox_idx=np.arange(len(g_a), dtype=np.int64) + 10_000,
        gallery_action_idx=np.asarray(g_a, np.int64)[g_perm],
        gallery_person_uid=np.asarray(g_u)[g_perm],
    )


def assert_official_agrees(
    official: Callable[[str, str], dict[str, float]],
    gt: Path,
    split: EvalSplit,
    features: tuple[np.ndarray, np.ndarray],
    metric: str,
    tmp_path: Path,
) -> None:
    dist = action_distances(*features, split, metric)
    ranking_path = write_ranking(tmp_path / f"ranking_{metric}.json", rankings_from_distances(dist))
    theirs = official(str(gt), str(ranking_path))
    ours_dist = evaluate_distances(dist)
    ours_file = evaluate_ranking(gt, ranking_path)
    for ours in (ours_dist, ours_file):
        assert ours.num_skipped == 0
        assert ours.mAP == pytest.approx(theirs["mAP"], abs=1e-6)
        assert ours.rank1 == pytest.approx(theirs["rank-1"], abs=1e-6)
    assert ours_file.as_dict(per_query=True) == ours_dist.as_dict(per_query=True)


@pytest.mark.parametrize("metric", ["cosine", "sqeuclidean"])
def test_official_agrees_on_a_random_problem_with_ties(
    official: Callable[..., dict[str, float]], tmp_path: Path, metric: str
) -> None:
    rng = np.random.default_rng(7)
    split = random_split(rng, 60)
    gt = write_gt(tmp_path / "bbox_info.json", split)
    loaded = load_ground_truth(gt)
    for name in ("query_bbox_idx", "query_action_idx", "gallery_bbox_idx", "gallery_person_uid"):
        np.testing.assert_array_equal(getattr(loaded, name), getattr(split, name))
    # 2-level features in 2-d: many exactly tied distances, broken by gallery order
    q = rng.integers(0, 2, (split.num_queries, 2)).astype(np.float32) + 1
    g = rng.integers(0, 2, (split.num_gallery, 2)).astype(np.float32) + 1
    assert_official_agrees(official, gt, split, (q, g), metric, tmp_path)


def test_official_agrees_on_the_tiny_synthetic_split(
    official: Callable[..., dict[str, float]], tiny_root: Path, tmp_path: Path
) -> None:
    gt = tiny_root / "reid" / "valid" / "bbox_info.json"
    split = load_ground_truth(gt)
    rng = np.random.default_rng(0)
    q = rng.normal(size=(split.num_queries, 32)).astype(np.float32)
    g = rng.normal(size=(split.num_gallery, 32)).astype(np.float32)
    assert_official_agrees(official, gt, split, (q, g), "euclidean", tmp_path)


@pytest.mark.shared
def test_official_agrees_on_mot20_valid(
    official: Callable[..., dict[str, float]], mot20_root: Path, tmp_path: Path
) -> None:
    gt = mot20_root / "reid" / "valid" / "bbox_info.json"
    split = load_ground_truth(gt)
    rng = np.random.default_rng(1)
    q = rng.normal(size=(split.num_queries, 64)).astype(np.float32)
    g = rng.normal(size=(split.num_gallery, 64)).astype(np.float32)
    assert_official_agrees(official, gt, split, (q, g), "cosine", tmp_path)


@st.composite
def tiny_problems(draw: st.DrawFn) -> tuple[EvalSplit, np.ndarray, np.ndarray]:
    """Actions with 0-4 queries and 0-4 gallery crops, 1-d integer features (ties)."""
    q_a, q_u, g_a, g_u = [], [], [], []
    for a in range(draw(st.integers(1, 4))):
        n_q, n_g = draw(st.integers(0, 4)), draw(st.integers(0, 4))
        q_a += [a] * n_q
        g_a += [a] * n_g
        q_u += draw(st.lists(st.sampled_from("ab"), min_size=n_q, max_size=n_q))
        g_u += draw(st.lists(st.sampled_from("abc"), min_size=n_g, max_size=n_g))
    q = draw(st.lists(st.integers(0, 2), min_size=len(q_a), max_size=len(q_a)))
    g = draw(st.lists(st.integers(0, 2), min_size=len(g_a), max_size=len(g_a)))
    split = EvalSplit(
        np.arange(len(q_a)) + 500,
        np.asarray(q_a, np.int64),
        np.asarray(q_u, np.str_),
        np.arange(len(g_a))[::-1].copy(),
        np.asarray(g_a, np.int64),
        np.asarray(g_u, np.str_),
    )
    as_col = lambda v: np.asarray(v, np.float32).reshape(-1, 1)  # noqa: E731
    return split, as_col(q), as_col(g)


@settings(max_examples=120, deadline=None)
@given(problem=tiny_problems())
def test_export_is_the_order_metrics_score(
    problem: tuple[EvalSplit, np.ndarray, np.ndarray],
) -> None:
    split, q, g = problem
    dist = action_distances(q, g, split, "sqeuclidean")
    ranking = rankings_from_distances(dist)
    assert list(ranking) == [str(b) for b in split.query_bbox_idx]
    for row, key in enumerate(ranking):
        same = [
            j
            for j in range(split.num_gallery)
            if split.gallery_action_idx[j] == split.query_action_idx[row]
        ]
        expected = sorted(same, key=lambda j: (q[row, 0] - g[j, 0]) ** 2)  # stable
        assert ranking[key] == [int(split.gallery_bbox_idx[j]) for j in expected]
        assert all(type(v) is int for v in ranking[key])
    check_ranking(ranking, split)
    try:
        expected_result = evaluate_distances(dist, max_rank=5)
    except DataError:
        with pytest.raises(DataError):
            score_ranking(ranking, split, max_rank=5)
        return
    got = score_ranking(ranking, split, max_rank=5)
    assert got.as_dict(per_query=True) == expected_result.as_dict(per_query=True)


# --- the official evaluator's rules -------------------------------------------------------

RULE_SPLIT = split_of(
    [(1, 0, "a"), (2, 0, "b"), (3, 1, "c"), (4, 2, "d")],
    [(10, 0, "a"), (11, 1, "c"), (12, 0, "b"), (13, 0, "z"), (14, 1, "y"), (15, 2, "d")]
    + [(16, 2, "d")],
)
VALID = {"1": [10, 12, 13], "2": [13, 12, 10], "3": [14, 11], "4": [16, 15]}


def _set(key: str, value: Any) -> Callable[[dict[str, Any]], None]:
    return lambda r: r.__setitem__(key, value)


def _item(index: int, value: Any) -> Callable[[dict[str, Any]], None]:
    return lambda r: r["2"].__setitem__(index, value)


# (mutation of query "2" (the second in ground-truth order), what our message says)
VIOLATIONS: dict[str, tuple[Callable[[dict[str, Any]], None], str]] = {
    "missing query": (lambda r: r.pop("2"), "no ranking given"),
    "int instead of list": (_set("2", 13), "expected a list"),
    "string instead of list": (_set("2", "13"), "expected a list"),
    "string item": (_item(0, "13"), "not an integer"),
    "float item": (_item(0, 13.0), "not an integer"),
    "bool item": (_item(2, True), "not an integer"),
    "null item": (_item(1, None), "not an integer"),
    "duplicate appended": (lambda r: r["2"].append(13), "more than once"),
    "duplicate replacing": (_item(2, 13), "more than once"),
    "unknown gallery id": (lambda r: r["2"].append(99), "not in the ground truth"),
    "item of another action": (lambda r: r["2"].append(11), "belongs to action 1"),
    "missing item": (lambda r: r["2"].pop(), "item 10 of its action 0 is missing"),
    "empty list": (_set("2", []), "is missing"),
}


@pytest.fixture
def rule_gt(tmp_path: Path) -> Path:
    return write_gt(tmp_path / "gt.json", RULE_SPLIT)


@pytest.mark.parametrize("name", list(VIOLATIONS))
def test_check_ranking_raises_where_the_official_evaluator_raises(
    name: str, official: Callable[..., dict[str, float]], rule_gt: Path, tmp_path: Path
) -> None:
    mutate, message = VIOLATIONS[name]
    ranking = copy.deepcopy(VALID)
    mutate(ranking)
    ranking["3"].append(ranking["3"][0])  # a later query breaks a rule too: "2" comes first
    path = tmp_path / "ranking.json"
    path.write_text(json.dumps(ranking))
    with pytest.raises(Exception) as theirs:  # noqa: PT011 (ValueError/TypeError/KeyError)
        official(str(rule_gt), str(path))
    assert not isinstance(theirs.value, KeyError) or name in ("bool item", "unknown gallery id")
    with pytest.raises(RankingError, match=f"query '2'.*{message}") as ours:
        check_ranking(load_ranking(path), RULE_SPLIT)
    with pytest.raises(RankingError, match=str(path)):
        evaluate_ranking(rule_gt, path)
    assert "'3'" not in str(ours.value)


def test_valid_variants_pass_both_and_score_the_same(
    official: Callable[..., dict[str, float]], rule_gt: Path, tmp_path: Path
) -> None:
    ranking: dict[str, Any] = {k: list(v) for k, v in reversed(VALID.items())}
    ranking["999"] = [1, 2]  # not a query: ignored by both
    path = tmp_path / "ranking.json"
    path.write_text(json.dumps(ranking))
    theirs = official(str(rule_gt), str(path))
    ours = evaluate_ranking(rule_gt, path)
    assert ours.mAP == pytest.approx(theirs["mAP"], abs=1e-9)
    assert ours.rank1 == pytest.approx(theirs["rank-1"], abs=1e-7)
    # by hand: AP "1" = 1, "2": match 12 at rank 2 -> 1/2, "3": 11 at rank 2 -> 1/2, "4": 1
    assert ours.mAP == pytest.approx(0.75) and ours.first_match_rank.tolist() == [1, 2, 2, 1]


def test_queries_without_match_or_gallery_are_skipped_not_rejected(tmp_path: Path) -> None:
    split = split_of([(1, 0, "a"), (2, 0, "q"), (3, 5, "r")], [(10, 0, "a"), (11, 0, "b")])
    result = score_ranking({"1": [11, 10], "2": [10, 11], "3": []}, split)
    assert result.num_queries == 1 and result.num_skipped == 2
    assert result.skipped_bbox_idx.tolist() == [2, 3] and result.mAP == pytest.approx(0.5)
    with pytest.raises(RankingError, match="query '3'.*gallery item 10 belongs to action 0"):
        check_ranking({"1": [11, 10], "2": [10, 11], "3": [10]}, split)


def test_challenge_split_exports_without_labels(tmp_path: Path) -> None:
    unlabelled = split_of([(4, 0, ""), (5, 1, "")], [(7, 1, ""), (8, 0, ""), (9, 1, "")])
    q = np.array([[1.0, 0.0], [0.0, 1.0]], np.float32)
    g = np.array([[1.0, 0.0], [1.0, 0.1], [0.0, 1.0]], np.float32)
    dist = action_distances(q, g, unlabelled, "cosine")
    path = write_ranking(tmp_path / "sub" / "challenge.json", rankings_from_distances(dist))
    assert json.loads(path.read_text()) == {"4": [8], "5": [9, 7]}
    assert [p.name for p in path.parent.iterdir()] == ["challenge.json"]  # no temp file left
    check_ranking(load_ranking(path), unlabelled)
    with pytest.raises(DataError, match="person_uid"):
        evaluate_distances(dist)


def test_partial_distances_cannot_be_exported() -> None:
    dist = action_distances(
        np.ones((4, 2), np.float32), np.ones((7, 2), np.float32), RULE_SPLIT, "cosine"
    )
    dist.blocks.pop()
    with pytest.raises(DataError, match="cover 3 of 4 queries"):
        rankings_from_distances(dist)


GT_DEFECTS: dict[str, tuple[str, str]] = {
    "bad json": ('{"query": {', "not valid JSON"),
    "not an object": ("[1, 2]", "must be a JSON object"),
    "no gallery": ('{"query": {}}', "'gallery' object"),
    "no bbox_idx": (
        '{"query": {"1": {"action_idx": 0, "person_uid": "a"}}, "gallery": {}}',
        "query entry '1': field 'bbox_idx' is missing",
    ),
    "string action": (
        '{"query": {}, "gallery": {"1": {"bbox_idx": 1, "action_idx": "0", "person_uid": "a"}}}',
        "field 'action_idx' is '0', not an integer",
    ),
    "key differs": (
        '{"query": {"2": {"bbox_idx": 1, "action_idx": 0, "person_uid": "a"}}, "gallery": {}}',
        "key differs from its bbox_idx 1",
    ),
    "no person_uid": (
        '{"query": {"1": {"bbox_idx": 1, "action_idx": 0}}, "gallery": {}}',
        "'person_uid' is missing",
    ),
    "entry not object": ('{"query": {"1": 5}, "gallery": {}}', "is not an object"),
}


@pytest.mark.parametrize("name", list(GT_DEFECTS))
def test_load_ground_truth_names_file_and_problem(name: str, tmp_path: Path) -> None:
    text, message = GT_DEFECTS[name]
    path = tmp_path / "bbox_info.json"
    path.write_text(text)
    with pytest.raises(DataError, match=message) as err:
        load_ground_truth(path)
    assert str(path) in str(err.value)


def test_missing_files_and_non_object_ranking(tmp_path: Path) -> None:
    with pytest.raises(DataError, match="file not found"):
        load_ground_truth(tmp_path / "absent.json")
    path = tmp_path / "ranking.json"
    path.write_text("[]")
    with pytest.raises(RankingError, match="must be a JSON object"):
        load_ranking(path)
    with pytest.raises(RankingError, match="must be a JSON object"):
        check_ranking([], RULE_SPLIT)  # type: ignore[arg-type]
