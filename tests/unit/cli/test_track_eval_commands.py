"""``footreid track-eval``: table, ``--json``, ``--frames`` and exit codes."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from cli_main import run_main
from tiny_mot import moving_rows, people_rows, write_tiny_sequence
from typer.testing import CliRunner

from footreid.cli.main import app
from footreid.track.mot import write_mot_rows

pytest.importorskip("trackeval", reason="TrackEval comes with the 'track' extra")


@pytest.fixture
def files(tmp_path: Path) -> tuple[Path, Path]:
    """The tiny sequence and tracks with one id switch (player 1: id 7, then id 8)."""
    seq = write_tiny_sequence(tmp_path / "S")
    pred = np.concatenate(
        [moving_rows(7, 0, range(1, 6)), moving_rows(8, 0, range(6, 11)), people_rows()[10:]]
    )
    write_mot_rows(tmp_path / "tracks.txt", pred)
    return seq, tmp_path / "tracks.txt"


def test_prints_the_table(files: tuple[Path, Path]) -> None:
    seq, tracks = files
    result = CliRunner().invoke(app, ["track-eval", str(seq), str(tracks)], terminal_width=120)
    assert result.exit_code == 0, result.output
    for label in ("HOTA", "DetA", "AssA", "IDF1", "ID switches", "predicted ids", "gt ids"):
        assert label in result.output
    assert "75.00%" in result.output  # IDF1 (AssA too)
    assert "86.60%" in result.output  # HOTA = sqrt(0.75)


def test_json_document(files: tuple[Path, Path]) -> None:
    seq, tracks = files
    result = CliRunner().invoke(app, ["track-eval", str(seq), str(tracks), "--json"])
    assert result.exit_code == 0, result.output
    document = json.loads(result.output)
    assert document["schema"] == "footreid.track_evaluation/1"
    assert document["command"] == "track-eval" and document["frames"] is None
    metrics = document["metrics"]
    assert metrics["idf1"] == pytest.approx(0.75) and metrics["id_switches"] == 1
    assert (metrics["num_pred_ids"], metrics["num_gt_ids"]) == (3, 2)
    assert metrics["dropped_gt_ids"] == [3]


def test_frames_option(files: tuple[Path, Path]) -> None:
    seq, tracks = files
    args = ["track-eval", str(seq), str(tracks), "--frames", "1-5", "--json"]
    result = CliRunner().invoke(app, args)
    assert result.exit_code == 0, result.output
    document = json.loads(result.output)
    assert document["frames"] == "1-5"
    # frames 1-5 hold no switch: ids 7 and 2 follow players 1 and 2
    assert document["metrics"]["idf1"] == 1 and document["metrics"]["num_frames"] == 5
    assert document["metrics"]["dropped_pred_rows"] == 10


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--frames", "9-2"], "1 <= FIRST <= LAST"),
        (["--frames", "1-20"], "frames must lie in 1..10"),
    ],
)
def test_bad_frames_exit_1_with_one_line(
    files: tuple[Path, Path],
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    args: list[str],
    message: str,
) -> None:
    seq, tracks = files
    assert run_main(monkeypatch, ["track-eval", str(seq), str(tracks), *args]) == 1
    captured = capsys.readouterr()
    assert captured.out == "" and "error:" in captured.err and message in captured.err


def test_bad_files_exit_1_naming_the_file(
    files: tuple[Path, Path], monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    seq, tracks = files
    tracks.write_text("1,7,1,2,3\n")
    assert run_main(monkeypatch, ["track-eval", str(seq), str(tracks)]) == 1
    err = " ".join(capsys.readouterr().err.split())  # rich wraps long lines
    assert "tracks.txt" in err and "line 1: 5 fields" in err
    (seq / "gameinfo.ini").unlink()
    assert run_main(monkeypatch, ["track-eval", str(seq), str(seq / "gt" / "gt.txt")]) == 1
    err = " ".join(capsys.readouterr().err.split())
    assert "gameinfo.ini" in err and "missing" in err


def test_help_documents_json_frames_and_exit_codes() -> None:
    result = CliRunner().invoke(app, ["track-eval", "--help"], terminal_width=200)
    assert result.exit_code == 0
    for text in ("--json", "--frames", "Exit codes"):
        assert text in result.output
