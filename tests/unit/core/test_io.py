"""Atomic writes: temporaries of dead writers are swept, disk errors are explained."""

from __future__ import annotations

import errno
import os
import subprocess
import sys
from pathlib import Path

import pytest

from footreid.core.errors import OutputError
from footreid.core.io import (
    atomic_write,
    atomic_write_many,
    atomic_write_text,
    format_bytes,
    sweep_stale_temps,
)


def _dead_pid() -> int:
    child = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"],
                           capture_output=True, text=True, check=True)  # fmt: skip
    return int(child.stdout)


def test_only_temporaries_of_dead_writers_are_swept(tmp_path: Path) -> None:
    target = tmp_path / "last.pt"
    dead, alive = _dead_pid(), os.getppid()
    names = {
        f".last.pt.{dead}.abcd_123.tmp": False,  # a dead writer's: swept
        f".last.pt.{dead}.abcd_123.pt": False,  # (atomic_path keeps the suffix)
        f".last.pt.{alive}.abcd_123.tmp": True,  # a running process's: kept
        f".last.pt.{os.getpid()}.abcd_123.tmp": True,
        ".last.pt.notapid.tmp": True,  # not a name footreid makes
        f".other.pt.{dead}.abcd_123.tmp": True,  # another file's
        "last.pt": True,
    }
    for name in names:
        (tmp_path / name).write_bytes(b"x")
    assert sweep_stale_temps(target) == 2
    assert {p.name for p in tmp_path.iterdir()} == {n for n, kept in names.items() if kept}


def test_a_full_disk_names_the_folder_and_keeps_the_previous_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "out" / "results.json"
    atomic_write_text(path, "old")

    def full(fd: int) -> None:
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))

    monkeypatch.setattr(os, "fsync", full)
    with pytest.raises(OutputError) as info:
        atomic_write_text(path, "x" * 3000)
    message = str(info.value)
    assert f"free space in {path.parent}" in message and "writing 2.9 KiB" in message
    assert path.read_text() == "old" and [p.name for p in path.parent.iterdir()] == [path.name]


def test_other_errors_pass_through_and_leave_nothing(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="boom"), atomic_write(tmp_path / "a.bin") as handle:
        handle.write(b"partial")
        raise ValueError("boom")
    assert list(tmp_path.iterdir()) == []


def test_a_set_of_files_is_replaced_only_when_all_are_written(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    files = {tmp_path / "a.json": b"new a", tmp_path / "b.png": b"new b"}
    atomic_write_many({p: b"old" for p in files})
    calls = []

    def fsync_fails_second(fd: int) -> None:
        calls.append(fd)
        if len(calls) == 2:
            raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(os, "fsync", fsync_fails_second)
    with pytest.raises(OutputError):
        atomic_write_many(files)
    assert sorted(p.read_bytes() for p in tmp_path.iterdir()) == [b"old", b"old"]


def test_format_bytes() -> None:
    assert [format_bytes(n) for n in (5, 1536, 3 << 20, 5 << 30)] == [
        "5 B", "1.5 KiB", "3.0 MiB", "5.0 GiB",
    ]  # fmt: skip
