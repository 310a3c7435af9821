"""Choices away from the reported queries: folds, choice per fold, assembled results."""

from __future__ import annotations

import numpy as np
import pytest

from footreid.core.errors import ConfigError
from footreid.evaluate.metrics import EvalResult
from footreid.experiment.tuning import Fold, Tuning, assemble, choose


def result(ap: list[float], actions: list[int], first: list[int] | None = None) -> EvalResult:
    """An EvalResult over queries 0..N-1 with the given APs, actions, first-match ranks."""
    n = len(ap)
    first_rank = np.asarray(first if first is not None else [1] * n, dtype=np.int64)
    cmc = (first_rank[None, :] <= np.arange(1, 6)[:, None]).mean(axis=1)
    return EvalResult(
        mAP=float(np.mean(ap)),
        rank1=float(cmc[0]),
        cmc=cmc,
        num_queries=n,
        num_skipped=0,
        query_row=np.arange(n),
        bbox_idx=np.arange(n) + 100,
        action_idx=np.asarray(actions, dtype=np.int64),
        average_precision=np.asarray(ap, dtype=np.float64),
        first_match_rank=first_rank,
        skipped_bbox_idx=np.zeros(0, dtype=np.int64),
    )


ACTIONS = [0, 0, 1, 1, 2, 3, 3, 4, 5, 5]


def test_crossfit_folds_partition_the_actions_and_tune_on_the_others() -> None:
    reported = result([0.5] * 10, ACTIONS)
    folds = Tuning("crossfit", folds=3, seed=1).make_folds(reported)
    assert len(folds) == 3
    dealt = np.concatenate([f.actions for f in folds])
    assert sorted(dealt.tolist()) == [0, 1, 2, 3, 4, 5]
    report = np.stack([f.report for f in folds])
    assert (report.sum(0) == 1).all()  # every query reported exactly once
    for fold in folds:
        assert not (fold.report & fold.tune).any() and (fold.report | fold.tune).all()
        assert set(np.asarray(ACTIONS)[fold.report]) == set(fold.actions.tolist())
    other = Tuning("crossfit", folds=3, seed=2).make_folds(reported)
    assert any(not np.array_equal(a.actions, b.actions) for a, b in zip(folds, other, strict=True))


def test_split_and_none_modes_have_one_fold_over_everything() -> None:
    reported, tuning = result([0.5] * 10, ACTIONS), result([0.2] * 4, [7, 7, 8, 9])
    (split,) = Tuning("split", tuning_split="valid").make_folds(reported, tuning)
    assert split.report.all() and split.tune.shape == (4,) and split.tune.all()
    (none,) = Tuning("none").make_folds(reported)
    assert none.report.all() and none.tune.all()
    assert Tuning("none").tunes_on_reported and not Tuning("crossfit").tunes_on_reported
    assert "valid" in Tuning("split", tuning_split="valid").describe("test")


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"mode": "cv"}, "split, crossfit, none"),
        ({"mode": "crossfit", "folds": 1}, ">= 2 folds"),
        ({"mode": "split"}, "name of the tuning split"),
    ],
)
def test_bad_tuning_settings_are_refused(kwargs: dict, match: str) -> None:
    with pytest.raises(ConfigError, match=match):
        Tuning(**kwargs)


def test_crossfit_needs_as_many_actions_as_folds() -> None:
    with pytest.raises(ConfigError, match="needs >= 7 actions"):
        Tuning("crossfit", folds=7).make_folds(result([0.5] * 10, ACTIONS))


def test_each_fold_chooses_on_its_tuning_queries_only() -> None:
    """'a' wins on actions 0-2, 'b' on 3-5: each fold picks what wins on the *other* fold."""
    a = result([1, 1, 1, 1, 1, 0, 0, 0, 0, 0], ACTIONS)
    b = result([0, 0, 0, 0, 0, 1, 1, 1, 1, 1], ACTIONS)
    lo = np.isin(ACTIONS, [0, 1, 2])
    folds = [Fold(np.array([0, 1, 2]), lo, ~lo), Fold(np.array([3, 4, 5]), ~lo, lo)]
    choice = choose(["a", "b"], {"a": a, "b": b}, folds)
    assert choice.picks == ["b", "a"]
    assert choice.scores[0] == {"a": 0.0, "b": 1.0}
    assembled = assemble([b, a], folds)  # the honest outcome: both folds get it wrong
    assert assembled.mAP == 0.0
    assert np.array_equal(assembled.query_row, a.query_row)


def test_ties_go_to_the_first_candidate() -> None:
    same = result([0.5] * 10, ACTIONS)
    (fold,) = Tuning("none").make_folds(same)
    assert choose(["x", "y"], {"x": same, "y": same}, [fold]).picks == ["x"]
    with pytest.raises(ConfigError, match="no candidate"):
        choose([], {}, [fold])


def test_assemble_recomputes_map_and_cmc_from_the_picked_queries() -> None:
    a = result([1.0] * 10, ACTIONS, first=[1] * 10)
    b = result([0.25] * 10, ACTIONS, first=[4] * 10)
    mask = np.isin(ACTIONS, [0, 1])  # 4 queries from b, 6 from a
    folds = [Fold(np.array([0, 1]), mask, ~mask), Fold(np.array([2, 3, 4, 5]), ~mask, mask)]
    out = assemble([b, a], folds)
    assert out.mAP == pytest.approx((4 * 0.25 + 6 * 1.0) / 10)
    assert out.rank1 == pytest.approx(0.6) and out.cmc[3] == pytest.approx(1.0)
    with pytest.raises(ValueError, match="no fold"):
        assemble([a], [Fold(np.array([0, 1]), mask, ~mask)])
