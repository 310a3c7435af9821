"""``footreid data-info`` and ``footreid download``: tables, --skip-bad, one-line errors."""

from __future__ import annotations

import sys
import time
import types
import zipfile
from pathlib import Path

import pytest
from cli_main import run_main
from click.testing import Result
from PIL import Image
from typer.testing import CliRunner

from footreid.cli.main import app, main
from footreid.core.errors import DataError

ACTION = ("train", "champ", "2021-2022", "game", "0")


def tiny_tree(root: Path) -> Path:
    """Two train crops of one action."""
    for bbox, uid in ((0, "1"), (1, "2")):
        path = root.joinpath("reid", *ACTION, f"{bbox}-0-{uid}-0-Side_referee-None-u{bbox}-8x4.png")
        path.parent.mkdir(parents=True, exist_ok=True)
        Image.new("RGB", (4, 8)).save(path)
    return root


def run(*args: str) -> Result:
    return CliRunner().invoke(app, list(args), terminal_width=160)


def test_data_info_on_mot20(mot20_root: Path) -> None:
    result = run("data-info", str(mot20_root))
    assert result.exit_code == 0, result.output
    lines = {line.split("│")[1].strip(): line for line in result.output.splitlines() if "│" in line}
    assert "2039" in lines["images"] and "784" in lines["images"]
    assert "267" in lines["identities (person_uid)"]
    assert "11" in lines["actions"] and "30" in lines["actions"]
    assert "118" in lines["queries"] and "666" in lines["gallery"]
    assert "Pedestrian" in lines and "every PNG decoded" in result.output


def test_data_info_stops_at_a_bad_file_unless_skipping(tmp_path: Path) -> None:
    root = tiny_tree(tmp_path)
    bad = root.joinpath("reid", *ACTION, "2-0-3-0-Side_referee-None-u2-8x4.png")
    bad.write_bytes(b"")
    result = run("data-info", str(root))
    assert isinstance(result.exception, DataError) and result.exception.path == bad
    result = run("data-info", str(root), "--skip-bad")
    assert result.exit_code == 0, result.output
    assert "1 bad files skipped (png: 1)" in result.output and "zero-byte PNG" in result.output
    quick = run("data-info", str(root), "--skip-bad", "--quick")
    assert quick.exit_code == 0 and "PNG headers checked" in quick.output


def test_console_script_prints_one_red_line(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setattr(sys, "argv", ["footreid", "data-info", str(tmp_path / "absent")])
    with pytest.raises(SystemExit) as info:
        main()
    assert info.value.code == 1
    err = capsys.readouterr().err
    assert err.startswith("error: ") and "dataset folder not found" in err
    assert "Traceback" not in err


def test_download_offline_is_fast_and_clear(
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    no_network: None,
) -> None:
    stand_in = types.ModuleType("SoccerNet.Downloader")  # the package may be absent
    stand_in.SoccerNetDownloader = object  # type: ignore[attr-defined]
    monkeypatch.setitem(sys.modules, "SoccerNet.Downloader", stand_in)
    start = time.perf_counter()
    code = run_main(monkeypatch, ["download", str(tmp_path), "-s", "valid"])
    assert code == 1 and time.perf_counter() - start < 10
    err = capsys.readouterr().err
    assert "cannot reach huggingface.co" in err and "Traceback" not in err


def test_download_unzip_only(tmp_path: Path) -> None:
    reid = tmp_path / "soccernetv3" / "reid"
    reid.mkdir(parents=True)
    with zipfile.ZipFile(reid / "challenge.zip", "w") as archive:
        archive.writestr("challenge/query/0-0-8x4.png", b"\x89PNG\r\n\x1a\n")
    result = run("download", str(tmp_path), "--split", "challenge", "--unzip-only")
    assert result.exit_code == 0, result.output
    assert "challenge" in result.output and "unpacked" in result.output
    assert (reid / "challenge" / "query" / "0-0-8x4.png").is_file()
    bad = run("download", str(tmp_path), "--split", "nope", "--unzip-only")
    assert bad.exit_code != 0 and "choose from" in str(bad.exception)
