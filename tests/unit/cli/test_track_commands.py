"""``footreid track``: tracks written, scored by ``track-eval``, refusals and exit codes."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from cli_main import run_main
from tiny_mot import write_tiny_frames, write_tiny_sequence
from typer.testing import CliRunner

from footreid.cli.main import app
from footreid.track.mot import read_mot_rows


@pytest.fixture
def seq(tmp_path: Path) -> Path:
    return write_tiny_frames(write_tiny_sequence(tmp_path / "S"))


def test_track_link_then_score_the_tiny_clip(seq: Path, tmp_path: Path) -> None:
    out = tmp_path / "tracks.txt"
    args = ["track", str(seq), "--boxes-from-gt", "--reid", "hsv", "--link", "-o", str(out)]
    args += ["--strip", str(tmp_path / "strip.jpg")]
    result = CliRunner().invoke(app, args)
    assert result.exit_code == 0, result.output
    assert (tmp_path / "strip.jpg").stat().st_size > 0
    rows = read_mot_rows(out)
    assert len(rows) == 20 and set(rows["track_id"].tolist()) == {1, 2}
    scored = CliRunner().invoke(app, ["track-eval", str(seq), str(out), "--json"])
    metrics = json.loads(scored.output)["metrics"]
    assert metrics["idf1"] == pytest.approx(1.0) and metrics["id_switches"] == 0


def test_track_needs_one_detection_source(seq: Path, tmp_path: Path, monkeypatch) -> None:
    code = run_main(monkeypatch, ["track", str(seq), "-o", str(tmp_path / "t.txt")])
    assert code == 1
    assert not (tmp_path / "t.txt").exists()


def test_unknown_tracker_lists_the_known_ones(
    seq: Path, tmp_path: Path, capsys, monkeypatch
) -> None:
    args = ["track", str(seq), "--boxes-from-gt", "--tracker", "botsrt", "-o", str(tmp_path / "t")]
    assert run_main(monkeypatch, args) == 1
    assert "botsort" in capsys.readouterr().err


def test_a_read_only_destination_fails_before_tracking(
    seq: Path, tmp_path: Path, monkeypatch, capsys
) -> None:
    """Creating a file in the folder fails with EROFS (as on a read-only mount; root in CI
    ignores permissions): the command stops before any frame is read."""
    import errno
    import tempfile

    import footreid.track.pipeline as pipeline

    locked, real_mkstemp = tmp_path / "locked", tempfile.mkstemp
    locked.mkdir()

    def mkstemp(*args, **kwargs):
        if Path(kwargs.get("dir") or tempfile.gettempdir()).resolve() == locked.resolve():
            raise OSError(errno.EROFS, "Read-only file system", str(locked))
        return real_mkstemp(*args, **kwargs)

    monkeypatch.setattr(tempfile, "mkstemp", mkstemp)
    monkeypatch.setattr(pipeline, "track_clip", lambda plan: pytest.fail("tracked anyway"))
    args = ["track", str(seq), "--boxes-from-gt", "-o", str(locked / "t.txt")]
    assert run_main(monkeypatch, args) == 1
    assert "Read-only file system" in capsys.readouterr().err
