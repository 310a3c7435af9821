"""Bootstrap over actions: a slow loop reference, hand-made cases, pairing, bad arguments."""

from __future__ import annotations

import itertools
import time

import numpy as np
import pytest

from footreid.core.errors import DataError
from footreid.evaluate.intervals import (
    Interval,
    align_queries,
    bootstrap_intervals,
    metric_values,
    paired_bootstrap,
    resample_counts,
    resampled_metrics,
)
from footreid.evaluate.metrics import EvalResult


def make_result(action_idx, ap, first=None, bbox_idx=None) -> EvalResult:
    """An EvalResult holding only what the bootstrap reads (plus consistent summaries)."""
    action_idx = np.asarray(action_idx, dtype=np.int64)
    ap = np.asarray(ap, dtype=np.float64)
    n = len(ap)
    first = np.ones(n, dtype=np.int64) if first is None else np.asarray(first, dtype=np.int64)
    bbox = np.arange(n, dtype=np.int64) if bbox_idx is None else np.asarray(bbox_idx)
    cmc = (first[None, :] <= np.arange(1, 21)[:, None]).mean(axis=1)
    return EvalResult(
        mAP=float(ap.mean()),
        rank1=float(cmc[0]),
        cmc=cmc,
        num_queries=n,
        num_skipped=0,
        query_row=np.arange(n, dtype=np.int64),
        bbox_idx=bbox.astype(np.int64),
        action_idx=action_idx,
        average_precision=ap,
        first_match_rank=first,
        skipped_bbox_idx=np.zeros(0, dtype=np.int64),
    )


def random_result(seed: int, actions: int = 40, queries: int = 300) -> EvalResult:
    """Uneven actions (some with one query) with action-level difficulty, unsorted rows."""
    rng = np.random.default_rng(seed)
    action = np.concatenate([np.arange(actions), rng.integers(0, actions, queries - actions)])
    action = rng.permutation(action) * 7 + 3  # sparse, non-contiguous action ids
    difficulty = rng.uniform(0.2, 0.9, size=action.max() + 1)
    ap = np.clip(difficulty[action] + rng.normal(0, 0.15, queries), 0.01, 1.0)
    first = np.where(rng.uniform(size=queries) < ap, 1, rng.integers(2, 9, queries))
    return make_result(action, ap, first, bbox_idx=rng.permutation(queries) + 1000)


def reference_resamples(values, action_idx, resamples, seed) -> np.ndarray:
    """Plain loops over resamples, drawn actions and their queries (the module's contract)."""
    actions = sorted(set(int(a) for a in action_idx))
    queries_of = {a: [i for i, x in enumerate(action_idx) if x == a] for a in actions}
    draws = np.random.default_rng(seed).integers(0, len(actions), size=(resamples, len(actions)))
    out = np.zeros((resamples, values.shape[1]))
    for b in range(resamples):
        for m in range(values.shape[1]):
            total, count = 0.0, 0
            for pos in draws[b]:
                for i in queries_of[actions[pos]]:
                    total += float(values[i, m])
                    count += 1
            out[b, m] = total / count
    return out


def reference_percentile(samples, q: float) -> float:
    """Linear interpolation between order statistics at (B - 1) * q."""
    s = sorted(samples)
    h = (len(s) - 1) * q
    lo = int(np.floor(h))
    hi = min(lo + 1, len(s) - 1)
    return s[lo] + (h - lo) * (s[hi] - s[lo])


@pytest.mark.parametrize("seed", [0, 7])
def test_matches_slow_reference(seed: int) -> None:
    result = random_result(seed)
    values = metric_values(result)
    fast = resampled_metrics(values, result.action_idx, 200, seed)
    slow = reference_resamples(values, result.action_idx, 200, seed)
    np.testing.assert_allclose(fast, slow, rtol=0, atol=1e-12)
    intervals = bootstrap_intervals(result, resamples=200, level=0.9, seed=seed)
    for m, name in enumerate(("mAP", "rank1")):
        low, high = (reference_percentile(slow[:, m], q) for q in (0.05, 0.95))
        assert intervals[name].low == pytest.approx(low, abs=1e-12)
        assert intervals[name].high == pytest.approx(high, abs=1e-12)


def test_estimates_equal_the_result_and_record_fields() -> None:
    result = random_result(1)
    intervals = bootstrap_intervals(result, resamples=300, seed=5)
    assert intervals["mAP"].estimate == result.mAP
    assert intervals["rank1"].estimate == result.rank1
    for iv in intervals.values():
        assert iv.low <= iv.estimate <= iv.high and iv.width > 0
        settings = (iv.level, iv.resamples, iv.seed, iv.unit, iv.num_actions)
        assert settings == (0.95, 300, 5, "actions", 40)
        assert iv.to_dict()["interval"] == "percentile" and iv.to_dict()["low"] == iv.low


def test_counts_rows_sum_to_the_number_of_actions() -> None:
    counts = resample_counts(9, 50, seed=3)
    assert counts.shape == (50, 9) and counts.dtype == np.float64
    np.testing.assert_array_equal(counts.sum(axis=1), np.full(50, 9.0))
    assert len({tuple(row) for row in counts}) > 1  # the resamples differ


def test_one_action_gives_a_zero_width_interval() -> None:
    result = make_result([4, 4, 4], [0.2, 0.5, 0.9], [1, 3, 1])
    for iv in bootstrap_intervals(result, resamples=50).values():
        assert iv.low == iv.high == pytest.approx(iv.estimate) and iv.num_actions == 1


def test_equal_aps_give_a_zero_width_interval() -> None:
    result = make_result([0, 0, 1, 2, 2, 2], [0.625] * 6)
    iv = bootstrap_intervals(result, resamples=100)["mAP"]
    assert iv.low == iv.high == iv.estimate == 0.625


def test_two_actions_give_only_the_possible_means() -> None:
    # action 0: one query AP 1.0; action 1: three queries AP 0.0.
    # Draws {0,0} -> 1.0, {0,1} -> 1/4, {1,1} -> 0.0.
    result = make_result([0, 1, 1, 1], [1.0, 0.0, 0.0, 0.0])
    samples = resampled_metrics(metric_values(result), result.action_idx, 400, seed=2)[:, 0]
    assert set(np.round(samples, 12)) == {0.0, 0.25, 1.0}
    counts = resample_counts(2, 400, seed=2)
    np.testing.assert_allclose(samples, counts[:, 0] / (counts[:, 0] + 3 * counts[:, 1]))


def test_seed_changes_the_draws() -> None:
    result = random_result(2)
    a = bootstrap_intervals(result, resamples=200, seed=0)["mAP"]
    b = bootstrap_intervals(result, resamples=200, seed=1)["mAP"]
    c = bootstrap_intervals(result, resamples=200, seed=0)["mAP"]
    assert (a.low, a.high) != (b.low, b.high) and a == c


def test_paired_identical_methods_differ_by_exactly_zero() -> None:
    result = random_result(3)
    shuffled = np.random.default_rng(0).permutation(result.num_queries)
    same = make_result(
        result.action_idx[shuffled],
        result.average_precision[shuffled],
        result.first_match_rank[shuffled],
        bbox_idx=result.bbox_idx[shuffled],
    )
    for diff in paired_bootstrap(result, same, resamples=200).values():
        d = diff.difference
        assert d.estimate == d.low == d.high == 0.0 and diff.p_value == 1.0
        assert diff.estimate_a == diff.estimate_b


def test_paired_difference_matches_per_method_resamples() -> None:
    a, b = random_result(4), random_result(4)
    better = make_result(
        a.action_idx, np.minimum(a.average_precision + 0.05, 1.0), a.first_match_rank, a.bbox_idx
    )
    pairs = paired_bootstrap(a, better, resamples=300, seed=9)
    mapd = pairs["mAP"]
    assert mapd.estimate_a == pytest.approx(a.mAP) and mapd.estimate_b == pytest.approx(better.mAP)
    assert mapd.difference.estimate == pytest.approx(better.mAP - a.mAP, abs=1e-12)
    samples_a = resampled_metrics(metric_values(a), a.action_idx, 300, 9)[:, 0]
    samples_b = resampled_metrics(metric_values(better), a.action_idx, 300, 9)[:, 0]
    diff = samples_b - samples_a
    assert mapd.difference.low == pytest.approx(np.quantile(diff, 0.025), abs=1e-12)
    assert mapd.p_value == 0.0 and mapd.difference.low > 0  # better on every action
    assert pairs["rank1"].difference.estimate == 0.0 and b.mAP == a.mAP
    reverse = paired_bootstrap(better, a, resamples=300, seed=9)["mAP"]
    assert reverse.p_value == 1.0 and reverse.difference.high < 0


def test_paired_p_value_is_the_share_of_non_positive_differences() -> None:
    a = random_result(5)
    noisy = np.clip(a.average_precision + np.random.default_rng(1).normal(0, 0.2, 300), 0, 1)
    b = make_result(a.action_idx, noisy, a.first_match_rank, a.bbox_idx)
    pair = paired_bootstrap(a, b, resamples=500, seed=1)["mAP"]
    diff = resampled_metrics(metric_values(b) - metric_values(a), a.action_idx, 500, 1)[:, 0]
    assert pair.p_value == pytest.approx(np.mean(diff <= 0)) and 0 < pair.p_value < 1
    assert pair.to_dict()["difference"]["unit"] == "actions"


def test_paired_refuses_different_query_sets() -> None:
    a = make_result([0, 0, 1], [0.5, 0.5, 1.0], bbox_idx=[1, 2, 3])
    b = make_result([0, 0, 1], [0.5, 0.5, 1.0], bbox_idx=[1, 2, 4])
    with pytest.raises(DataError, match=r"not scored on the same queries.*\[3\].*\[4\]"):
        paired_bootstrap(a, b)
    moved = make_result([0, 1, 1], [0.5, 0.5, 1.0], bbox_idx=[1, 2, 3])
    with pytest.raises(DataError, match="different actions"):
        align_queries(a, moved)
    twice = make_result([0, 0, 1], [0.5, 0.5, 1.0], bbox_idx=[1, 1, 3])
    with pytest.raises(DataError, match="more than once"):
        align_queries(a, twice)


def test_align_queries_finds_each_query() -> None:
    a = make_result([0, 1, 2], [0.1, 0.2, 0.3], bbox_idx=[10, 20, 30])
    b = make_result([2, 0, 1], [0.3, 0.1, 0.2], bbox_idx=[30, 10, 20])
    order = align_queries(a, b)
    np.testing.assert_array_equal(b.bbox_idx[order], a.bbox_idx)


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"resamples": 0}, "resamples must be >= 1"),
        ({"resamples": 2.5}, "resamples must be an integer"),
        ({"level": 1.0}, r"level must be in \(0, 1\)"),
        ({"level": 0.0}, r"level must be in \(0, 1\)"),
        ({"level": float("nan")}, r"level must be in \(0, 1\)"),
        ({"seed": -1}, "seed must be a non-negative integer"),
    ],
)
def test_invalid_arguments_raise(kwargs, match) -> None:
    result = random_result(0, actions=5, queries=20)
    with pytest.raises(ValueError, match=match):
        bootstrap_intervals(result, **kwargs)
    with pytest.raises(ValueError, match=match):
        paired_bootstrap(result, result, **kwargs)


def test_resampled_metrics_rejects_bad_shapes() -> None:
    with pytest.raises(ValueError, match="N >= 1"):
        resampled_metrics(np.zeros((0, 2)), np.zeros(0, dtype=np.int64), 10, 0)
    with pytest.raises(ValueError, match="action_idx"):
        resampled_metrics(np.zeros((3, 2)), np.zeros(2, dtype=np.int64), 10, 0)


def test_valid_sized_split_is_fast() -> None:
    rng = np.random.default_rng(0)
    actions, queries = 1751, 11638
    action = np.concatenate([np.arange(actions), rng.integers(0, actions, queries - actions)])
    a = make_result(action, rng.uniform(size=queries), rng.integers(1, 4, queries))
    b = make_result(action, rng.uniform(size=queries), rng.integers(1, 4, queries))
    start = time.perf_counter()
    intervals = bootstrap_intervals(a, resamples=1000)
    paired_bootstrap(a, b, resamples=1000)
    elapsed = time.perf_counter() - start
    assert intervals["mAP"].num_actions == actions
    assert elapsed < 1.0, f"bootstrap of a valid-sized split took {elapsed:.2f} s"


def test_interval_is_a_frozen_record() -> None:
    iv = Interval("mAP", 0.5, 0.4, 0.6, 0.95, 10, 0, "actions", 3)
    with pytest.raises(AttributeError):
        iv.low = 0.0  # type: ignore[misc]
    assert iv.width == pytest.approx(0.2)
    assert list(itertools.islice(iv.to_dict(), 3)) == ["metric", "estimate", "low"]
