"""Error categories of first-rank errors and the per-class / per-size breakdowns."""

from __future__ import annotations

import numpy as np
import pytest

from footreid.evaluate.distances import ActionBlock, ActionDistances, EvalSplit
from footreid.evaluate.metrics import evaluate_distances
from footreid.report.errors import (
    CATEGORIES,
    analyse_errors,
    crop_height,
    error_category,
    query_group,
    team_of,
)


@pytest.mark.parametrize(
    ("query", "wrong", "expected"),
    [
        ("Player_team_left", "Player_team_left", "same team player"),
        ("Player_team_left", "Player_team_right", "other team player"),
        ("Goalkeeper_team_right", "Player_team_right", "same team player"),
        ("Player_team_right", "Goalkeeper_team_left", "goalkeeper"),
        ("Player_team_left", "Main_referee", "referee"),
        ("Player_team_left", "Side_referee", "referee"),
        ("Player_team_left", "Staff_members", "staff"),
        ("Player_team_left", "Player_team_unknown_1", "player, unknown team"),
        ("Main_referee", "Player_team_left", "player, query without team"),
        ("Player_team_unknown_2", "Player_team_right", "player, query without team"),
        ("Player_team_left", "", "unknown class"),
    ],
)
def test_error_category(query: str, wrong: str, expected: str) -> None:
    assert error_category(query, wrong) == expected
    assert expected in CATEGORIES


def test_team_group_and_height_parsing() -> None:
    assert team_of("Goalkeeper_team_left") == "left"
    assert team_of("Player_team_unknown_1") is None
    assert [
        query_group(c)
        for c in ("Player_team_right", "Goalkeeper_team_unknown", "Side_referee", "Staff_members")
    ] == ["player", "goalkeeper", "referee", "other"]
    name = "54404-1940-33397-5089-Player_team_right-9-014r002_00858c3b0003-775x449.png"
    assert crop_height(f"query/a/b/{name}") == 775
    assert crop_height("challenge/1-2-3.png") is None


def _split() -> EvalSplit:
    # action 0: queries a (left) and b (right); gallery a, b, ref, c (left)
    return EvalSplit(
        query_bbox_idx=np.array([0, 1]),
        query_action_idx=np.array([0, 0]),
        query_person_uid=np.array(["a", "b"]),
        gallery_bbox_idx=np.array([0, 1, 2, 3]),
        gallery_action_idx=np.array([0, 0, 0, 0]),
        gallery_person_uid=np.array(["a", "b", "r", "c"]),
    )


def test_analyse_errors_counts_the_top_crop_of_wrong_queries() -> None:
    split = _split()
    # query a: closest is c (same team) -> error; query b: closest is b -> correct
    qg = np.array([[0.5, 0.9, 0.8, 0.1], [0.9, 0.2, 0.3, 0.7]], dtype=np.float32)
    dist = ActionDistances(split, [ActionBlock(0, np.array([0, 1]), np.arange(4), qg)], "cosine")
    result = evaluate_distances(dist)
    q_clazz = np.array(["Player_team_left", "Player_team_right"])
    g_clazz = np.array(
        ["Player_team_left", "Player_team_right", "Main_referee", "Player_team_left"]
    )
    paths = np.array(
        ["q/0-0-a-0-Player_team_left-1-u-100x40.png", "q/1-0-b-0-Player_team_right-2-u-50x20.png"]
    )
    analysis = analyse_errors(dist, result, q_clazz, g_clazz, paths)
    assert analysis.num_queries == 2 and analysis.num_errors == 1
    assert analysis.categories["same team player"] == 1
    assert sum(analysis.categories.values()) == 1
    n, ap, r1 = analysis.by_query_group["player"]
    assert n == 2 and r1 == pytest.approx(0.5) and ap == pytest.approx((0.5 + 1.0) / 2)
    assert sum(n for _, n, _, _ in analysis.by_height) == 2
