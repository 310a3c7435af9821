"""Results recorded in model folders: copied from footreid's evaluation files, checked."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from footreid.core.errors import ConfigError
from footreid.export.results import read_results


def write(path: Path, doc: object) -> Path:
    path.write_text(json.dumps(doc))
    return path


def test_evaluation_document_gives_one_row_per_method(tmp_path) -> None:
    doc = {
        "schema": "footreid.evaluation/1",
        "methods": [
            {
                "name": "a",
                "split": "valid",
                "dataset_root": "/d",
                "mAP": 0.5,
                "rank1": 0.4,
                "num_queries": 10,
            },
            {"name": "b", "split": "test", "mAP": 0.25, "rank1": 0.2},
        ],
    }
    rows = read_results(write(tmp_path / "r.json", doc))
    assert rows[0] == {
        "method": "a",
        "split": "valid",
        "data": "/d",
        "mAP": 0.5,
        "rank1": 0.4,
        "num_queries": 10,
    }
    assert rows[1]["split"] == "test" and rows[1]["data"] is None


def test_bare_metrics_take_the_split_given(tmp_path) -> None:
    rows = read_results(write(tmp_path / "m.json", {"mAP": 0.3, "rank1": 0.2}), "valid", "snmot")
    assert rows == [
        {
            "method": None,
            "split": "valid",
            "data": "snmot",
            "mAP": 0.3,
            "rank1": 0.2,
            "num_queries": None,
        }
    ]


@pytest.mark.parametrize(
    ("doc", "needle"),
    [
        ({"mAP": 52.9, "rank1": 0.4}, "fraction"),
        ({"schema": "other"}, "footreid.evaluation/1"),
        ([1, 2], "footreid.evaluation/1"),
    ],
)
def test_bad_results_are_named(tmp_path, doc, needle: str) -> None:
    with pytest.raises(ConfigError, match=needle):
        read_results(write(tmp_path / "x.json", doc))


def test_missing_and_broken_files(tmp_path) -> None:
    with pytest.raises(ConfigError, match="does not exist"):
        read_results(tmp_path / "none.json")
    (tmp_path / "bad.json").write_text("{")
    with pytest.raises(ConfigError, match="not valid JSON"):
        read_results(tmp_path / "bad.json")
