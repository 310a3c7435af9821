"""Printed commands run as printed: ``footreid`` only when the PATH finds this install."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

import footreid.cli.shell as shell


def fake_python(tmp_path: Path, with_script: bool) -> Path:
    bin_dir = tmp_path / "venv" / "bin"
    bin_dir.mkdir(parents=True)
    if with_script:
        (bin_dir / "footreid").write_text("#!/bin/sh\n")
    return bin_dir / "python"


def test_script_beside_the_interpreter_when_not_on_the_path(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(sys, "executable", str(fake_python(tmp_path, True)))
    monkeypatch.setattr(shell.shutil, "which", lambda name: None)
    monkeypatch.chdir(tmp_path)
    assert shell.footreid_executable() == str(Path("venv/bin/footreid"))


def test_plain_name_when_the_path_finds_this_install(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    python = fake_python(tmp_path, True)
    monkeypatch.setattr(sys, "executable", str(python))
    monkeypatch.setattr(shell.shutil, "which", lambda name: str(python.parent / name))
    assert shell.footreid_executable() == "footreid"
    other = tmp_path / "other"  # another footreid first on the PATH: not ours
    monkeypatch.setattr(shell.shutil, "which", lambda name: str(other / name))
    assert shell.footreid_executable().endswith(str(Path("venv/bin/footreid")))


def test_module_call_without_a_script(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(sys, "executable", str(fake_python(tmp_path, False)))
    monkeypatch.setattr(shell.shutil, "which", lambda name: None)
    command = shell.footreid_executable()
    assert (
        command.endswith("python -m footreid.cli.main") and Path(command.split()[0]).is_absolute()
    )
