"""Output of ``footreid evaluate`` / ``ensemble``: interval cells, headers, tables."""

from __future__ import annotations

import io

from rich.console import Console

from footreid.cli.evaluation_output import (
    interval_cell,
    print_breakdown,
    print_comparisons,
    print_methods,
)


def record(with_interval: bool) -> dict:
    intervals = {
        "mAP": {"low": 0.531, "high": 0.579, "level": 0.95},
        "rank1": {"low": 0.6, "high": 0.7, "level": 0.95},
    }
    return {
        "name": "osnet",
        "mAP": 0.555,
        "rank1": 0.65,
        "cmc": {"1": 0.65, "5": 0.8},
        "num_queries": 12,
        "num_actions": 3,
        "time_s": 0.5,
        "intervals": intervals if with_interval else None,
        "per_class": {"referees": {"mAP": 0.5, "rank1": 0.25, "num_queries": 4}},
    }


def test_interval_cell() -> None:
    assert interval_cell(0.555, {"low": 0.531, "high": 0.579}) == "55.50 [53.1, 57.9]"
    assert interval_cell(0.555, None) == "55.50%"


def render(fn, *args) -> str:
    console = Console(width=200, record=True, file=io.StringIO())
    fn(console, *args)
    return console.export_text()


def test_methods_table_with_and_without_intervals() -> None:
    text = render(print_methods, "t", [record(True)])
    assert "mAP % (95 % CI)" in text and "55.50 [53.1, 57.9]" in text
    assert "65.00 [60.0, 70.0]" in text and "CMC@5" in text and "CMC@10" not in text
    plain = render(print_methods, "t", [record(False)])
    assert "CI" not in plain and "55.50%" in plain


def test_breakdown_and_comparisons() -> None:
    text = render(print_breakdown, [record(True)])
    assert "referees" in text and "50.00% / 25.00% / 4" in text and "players" not in text
    diff = {"estimate": 0.0241, "low": -0.034, "high": 0.083, "level": 0.95}
    comparison = {
        "a": "osnet",
        "b": "avg",
        "mAP": {"difference": diff, "p_value": 0.23},
        "rank1": {"difference": diff, "p_value": 0.5},
    }
    text = render(print_comparisons, [comparison])
    assert "+2.41 [-3.4, +8.3]" in text and "0.230" in text and "95 % CI" in text
    assert render(print_comparisons, []) == ""
