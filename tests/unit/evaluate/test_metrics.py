"""Per-action mAP/CMC against a brute-force reference written straight from SPEC.md §3."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from footreid.core.errors import DataError
from footreid.evaluate.distances import ActionBlock, ActionDistances, EvalSplit
from footreid.evaluate.metrics import (
    evaluate_distances,
    evaluate_flat_matches,
    rank_order,
)


def split_of(queries: list[tuple[int, int, str]], gallery: list[tuple[int, int, str]]) -> EvalSplit:
    """A split from (bbox_idx, action_idx, person_uid) rows."""
    qb, qa, qu = (np.asarray(c) for c in zip(*queries, strict=True))
    gb, ga, gu = (np.asarray(c) for c in zip(*gallery, strict=True))
    return EvalSplit(qb, qa, qu.astype(np.str_), gb, ga, gu.astype(np.str_))


@st.composite
def problems(draw: st.DrawFn) -> tuple[EvalSplit, np.ndarray]:
    """A random split with integer distances (many ties), tiny actions and unmatched queries."""
    n_actions = draw(st.integers(1, 4))
    q_action, g_action, q_uid, g_uid = [], [], [], []
    for a in draw(st.permutations(range(10, 10 + n_actions))):
        n_q, n_g = draw(st.integers(0, 4)), draw(st.integers(0, 5))
        q_action += [a] * n_q
        g_action += [a] * n_g
        q_uid += draw(st.lists(st.sampled_from("abc"), min_size=n_q, max_size=n_q))
        g_uid += draw(st.lists(st.sampled_from("abcd"), min_size=n_g, max_size=n_g))
    n_q, n_g = len(q_action), len(g_action)
    split = EvalSplit(
        query_bbox_idx=np.arange(n_q, dtype=np.int64) * 3 + 1,
        query_action_idx=np.asarray(q_action, dtype=np.int64),
        query_person_uid=np.asarray(q_uid, dtype=np.str_),
        gallery_bbox_idx=np.arange(n_g, dtype=np.int64) * 5 + 1000,
        gallery_action_idx=np.asarray(g_action, dtype=np.int64),
        gallery_person_uid=np.asarray(g_uid, dtype=np.str_),
    )
    flat = draw(st.lists(st.integers(0, 3), min_size=n_q * n_g, max_size=n_q * n_g))
    return split, np.asarray(flat, dtype=np.float32).reshape(n_q, n_g)


def blocks_of(split: EvalSplit, full: np.ndarray) -> ActionDistances:
    """Per-action blocks cut from a full (Q, G) matrix (tests only: never done in the library)."""
    blocks = [ActionBlock(a, q, g, full[np.ix_(q, g)]) for a, q, g in split.action_groups()]
    return ActionDistances(split=split, blocks=blocks, metric="test")


def brute_force(split: EvalSplit, full: np.ndarray, max_rank: int) -> dict[str, object]:
    """Plain loops: same-action gallery, full stable sort by distance, AP by definition."""
    rows, aps, firsts, skipped = [], [], [], []
    for qi in range(split.num_queries):
        same = [
            gj
            for gj in range(split.num_gallery)
            if split.gallery_action_idx[gj] == split.query_action_idx[qi]
        ]
        ranked = sorted(same, key=lambda gj: float(full[qi, gj]))  # sorted() is stable
        match = [split.gallery_person_uid[gj] == split.query_person_uid[qi] for gj in ranked]
        if not any(match):
            skipped.append(int(split.query_bbox_idx[qi]))
            continue
        found, precisions = 0, []
        for k, hit in enumerate(match, start=1):
            if hit:
                found += 1
                precisions.append(found / k)
        rows.append(qi)
        aps.append(sum(precisions) / len(precisions))
        firsts.append(match.index(True) + 1)
    cmc = (
        [sum(f <= r for f in firsts) / len(firsts) for r in range(1, max_rank + 1)] if rows else []
    )
    return {"rows": rows, "ap": aps, "first": firsts, "cmc": cmc, "skipped": skipped}


@settings(max_examples=150, deadline=None)
@given(problem=problems(), max_rank=st.integers(1, 8))
def test_matches_brute_force_reference(
    problem: tuple[EvalSplit, np.ndarray], max_rank: int
) -> None:
    split, full = problem
    ref = brute_force(split, full, max_rank)
    dist = blocks_of(split, full)
    if not ref["rows"]:
        with pytest.raises(DataError, match="no query"):
            evaluate_distances(dist, max_rank)
        return
    res = evaluate_distances(dist, max_rank)
    assert res.query_row.tolist() == ref["rows"]
    np.testing.assert_allclose(res.average_precision, ref["ap"], rtol=0, atol=1e-12)
    assert res.first_match_rank.tolist() == ref["first"]
    np.testing.assert_allclose(res.cmc, ref["cmc"], rtol=0, atol=1e-12)
    assert res.mAP == pytest.approx(np.mean(ref["ap"]), abs=1e-12)
    assert res.rank1 == res.cmc[0]
    assert res.num_queries == len(ref["rows"])
    assert res.num_skipped == split.num_queries - len(ref["rows"])
    assert res.skipped_bbox_idx.tolist() == sorted(ref["skipped"])
    np.testing.assert_array_equal(res.bbox_idx, split.query_bbox_idx[res.query_row])


def test_cmc_stays_at_last_value_beyond_short_gallery() -> None:
    split = split_of([(0, 0, "a"), (1, 1, "b")], [(10, 0, "x"), (11, 0, "a"), (12, 1, "b")])
    full = np.array([[0.1, 0.5, 9.0], [9.0, 9.0, 0.3]], dtype=np.float32)
    res = evaluate_distances(blocks_of(split, full), max_rank=6)
    # query 0 matches at rank 2 of a 2-item gallery, query 1 at rank 1 of a 1-item gallery
    np.testing.assert_allclose(res.cmc, [0.5, 1, 1, 1, 1, 1])
    assert res.mAP == pytest.approx((0.5 + 1.0) / 2)


def test_ties_keep_gallery_order() -> None:
    qg = np.array([[1.0, 0.0, 1.0, 0.0]], dtype=np.float32)
    assert rank_order(qg).tolist() == [[1, 3, 0, 2]]


def test_flat_matches_agree_with_distances() -> None:
    rng = np.random.default_rng(3)
    q_uid, g_uid = rng.choice(list("ab"), 6), rng.choice(list("ab"), 12)
    split = split_of(
        list(zip(range(6), [0, 0, 1, 1, 1, 2], q_uid, strict=True)),
        list(zip(range(12), np.repeat([0, 1, 2], 4), g_uid, strict=True)),
    )
    full = rng.random((6, 12)).astype(np.float32)
    dist = blocks_of(split, full)
    expected = evaluate_distances(dist)
    lists, rows = [], []
    for block in dist:
        ranked = split.gallery_person_uid[block.gallery][rank_order(block.qg)]
        lists += list(ranked == split.query_person_uid[block.query][:, None])
        rows += block.query.tolist()
    lengths = np.array([len(m) for m in lists])
    got = evaluate_flat_matches(np.concatenate(lists), lengths, np.asarray(rows), split)
    assert got.as_dict(per_query=True) == expected.as_dict(per_query=True)
    with pytest.raises(ValueError, match="do not agree"):
        evaluate_flat_matches(np.ones(3, bool), np.array([2]), np.array([0]), split)


def test_as_dict_is_json_ready() -> None:
    import json

    split = split_of([(5, 0, "a")], [(7, 0, "b"), (8, 0, "a")])
    res = evaluate_distances(blocks_of(split, np.array([[0.0, 1.0]], np.float32)), max_rank=3)
    out = json.loads(json.dumps(res.as_dict(per_query=True)))
    assert out["mAP"] == 0.5 and out["cmc"] == [0.0, 1.0, 1.0] and out["max_rank"] == 3
    assert out["per_query"]["first_match_rank"] == [2]
    assert out["per_query"]["bbox_idx"] == [5]


def test_unlabelled_split_and_bad_blocks_are_errors() -> None:
    split = split_of([(0, 0, "")], [(1, 0, "")])
    with pytest.raises(DataError, match="person_uid"):
        evaluate_distances(blocks_of(split, np.zeros((1, 1), np.float32)))
    labelled = split_of([(0, 0, "a")], [(1, 0, "a")])
    with pytest.raises(DataError, match="NaN"):
        evaluate_distances(blocks_of(labelled, np.full((1, 1), np.nan, np.float32)))
    bad = ActionDistances(
        labelled, [ActionBlock(0, np.array([0]), np.array([0]), np.zeros((1, 2)))], "test"
    )
    with pytest.raises(DataError, match="block shape"):
        evaluate_distances(bad)
    twice = blocks_of(labelled, np.zeros((1, 1), np.float32))
    twice.blocks.append(twice.blocks[0])
    with pytest.raises(DataError, match="scored twice"):
        evaluate_distances(twice)
