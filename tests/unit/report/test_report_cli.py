"""`footreid report RUN_DIR` end to end through the CLI."""

from __future__ import annotations

import shutil
from pathlib import Path

from typer.testing import CliRunner

from footreid.cli.main import app


def test_report_command_writes_the_page(fake_run: Path, tmp_path: Path) -> None:
    out = tmp_path / "out"
    result = CliRunner().invoke(
        app, ["report", str(fake_run), "--out", str(out), "--examples", "2"], terminal_width=300
    )
    assert result.exit_code == 0, result.output
    assert (out / "index.html").is_file() and (out / "grid_worst.png").is_file()
    assert "index.html" in result.output and "footreid serve" in result.output


def test_report_command_on_a_folder_without_results(tmp_path: Path) -> None:
    shutil.rmtree(tmp_path, ignore_errors=True)
    tmp_path.mkdir()
    result = CliRunner().invoke(app, ["report", str(tmp_path)])
    assert result.exit_code != 0
    assert "results.json" in str(result.exception)
