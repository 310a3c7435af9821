"""Validation during training: the reported-split refusal, when it runs, what is best."""

from __future__ import annotations

import pytest

from footreid.core.config import ValConfig
from footreid.core.errors import ConfigError
from footreid.train.validation import check_validation, is_due, update_best


def test_check_validation_refuses_the_reported_split() -> None:
    with pytest.raises(ConfigError, match="val.split 'test' is also val.report_split"):
        check_validation(ValConfig(split="test", report_split="test"))
    check_validation(ValConfig(split="test", report_split="test", allow_report_split=True))
    check_validation(ValConfig(split="test", report_split="test", every=0))  # no validation
    check_validation(ValConfig(split="valid", report_split="test"))
    with pytest.raises(ConfigError, match="val.every"):
        check_validation(ValConfig(every=-1))


def test_validation_is_due_every_n_epochs_and_at_the_end_of_a_stage() -> None:
    val = ValConfig(every=2)
    assert [is_due(val, epoch, 5) for epoch in range(5)] == [False, True, False, True, True]
    assert not any(is_due(ValConfig(every=0), epoch, 3) for epoch in range(3))


def test_update_best_keeps_the_highest_value() -> None:
    best = {"metric": None, "value": None}
    best, improved = update_best(best, {"mAP": 0.5}, "mAP", 1)
    assert improved and best == {"metric": "mAP", "value": 0.5, "global_epoch": 1}
    same, improved = update_best(best, {"mAP": 0.4}, "mAP", 2)
    assert not improved and same is best
    assert update_best(best, None, "mAP", 3) == (best, False)  # not validated this epoch
