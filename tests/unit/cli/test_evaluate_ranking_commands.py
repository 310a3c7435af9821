"""``footreid evaluate-ranking``: the table, the JSON file and the one-line error."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

from footreid.cli.main import app, main
from footreid.core.errors import RankingError

GT = {
    "query": {
        "1": {"bbox_idx": 1, "action_idx": 0, "person_uid": "a"},
        "2": {"bbox_idx": 2, "action_idx": 1, "person_uid": "b"},
    },
    "gallery": {
        "10": {"bbox_idx": 10, "action_idx": 0, "person_uid": "x"},
        "11": {"bbox_idx": 11, "action_idx": 0, "person_uid": "a"},
        "12": {"bbox_idx": 12, "action_idx": 1, "person_uid": "b"},
    },
}


@pytest.fixture
def files(tmp_path: Path) -> tuple[Path, Path]:
    gt, ranking = tmp_path / "bbox_info.json", tmp_path / "ranking.json"
    gt.write_text(json.dumps(GT))
    ranking.write_text(json.dumps({"1": [10, 11], "2": [12]}))
    return gt, ranking


def test_prints_table_and_writes_json(files: tuple[Path, Path], tmp_path: Path) -> None:
    gt, ranking = files
    out = tmp_path / "out" / "metrics.json"
    result = CliRunner().invoke(
        app, ["evaluate-ranking", str(gt), str(ranking), "--json", str(out)], terminal_width=120
    )
    assert result.exit_code == 0, result.output
    assert "mAP" in result.output and "75.00%" in result.output  # AP 0.5 and 1.0
    assert "Rank-1" in result.output and "50.00%" in result.output
    metrics = json.loads(out.read_text())
    assert metrics["mAP"] == pytest.approx(0.75) and metrics["rank1"] == pytest.approx(0.5)
    assert metrics["cmc"][:2] == [0.5, 1.0] and len(metrics["cmc"]) == 20
    assert metrics["per_query"]["first_match_rank"] == [2, 1]


def test_max_rank_option(files: tuple[Path, Path]) -> None:
    result = CliRunner().invoke(app, ["evaluate-ranking", *map(str, files), "--max-rank", "1"])
    assert result.exit_code == 0, result.output
    assert "Rank-1" in result.output and "Rank-5" not in result.output


def test_bad_ranking_is_a_ranking_error(files: tuple[Path, Path]) -> None:
    gt, ranking = files
    ranking.write_text(json.dumps({"1": [10, 11, 10], "2": [12]}))
    result = CliRunner().invoke(app, ["evaluate-ranking", str(gt), str(ranking)])
    assert isinstance(result.exception, RankingError)
    assert "query '1'" in str(result.exception)


def test_console_entry_prints_one_line_error(
    files: tuple[Path, Path], monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    gt, ranking = files
    ranking.write_text(json.dumps({"1": [10, 11]}))
    monkeypatch.setattr(sys, "argv", ["footreid", "evaluate-ranking", str(gt), str(ranking)])
    with pytest.raises(SystemExit) as exit_info:
        main()
    assert exit_info.value.code == 1
    err = " ".join(capsys.readouterr().err.split())  # rich wraps long lines
    assert "error:" in err and "query '2'" in err and "Traceback" not in err
