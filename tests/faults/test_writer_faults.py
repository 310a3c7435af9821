"""Every writer under a full disk and a kill mid-write: the previous files stay intact.

Writers (``faulty_disk.WRITERS``): training checkpoint, features ``.npz``, ranking JSON,
``results.json``, model folder and torchreid file (``export-model``), ONNX
(``export-onnx``) and the report.
For each, version 0 is written cleanly, then version 1 meets the fault. A full disk must
raise an :class:`OutputError` naming the folder to free and leave the folder exactly as
it was (no temporary); a killed writer leaves the previous files as they were, and the
next write removes the temporary the dead process could not.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from faulty_disk import FAULTS, WRITERS, faulty_disk, snapshot, temporaries

from footreid.core.errors import OutputError

HERE = Path(__file__).resolve().parent
SUPPORT = HERE.parent / "support"


def _previous(name: str, out: Path, inputs: dict[str, Any]) -> tuple[dict[str, bytes], int]:
    """Write version 0; its files and their total size."""
    WRITERS[name](out, 0, inputs)
    before = snapshot(out)
    assert before and not temporaries(out)
    return before, sum(map(len, before.values()))


def _count_lost(before: dict[str, bytes], after: dict[str, bytes]) -> int:
    lost = sum(after.get(name) != data for name, data in before.items())
    FAULTS["lost"] += lost
    return lost


@pytest.mark.parametrize("share", [0.0, 0.5, 0.98])
@pytest.mark.parametrize("name", sorted(WRITERS))
def test_a_full_disk_keeps_the_previous_files_and_says_what_to_free(
    name: str, share: float, tmp_path: Path, writer_inputs: dict[str, Any]
) -> None:
    out = tmp_path / "out"
    before, total = _previous(name, out, writer_inputs)
    with faulty_disk(int(total * share)) as disk, pytest.raises(OutputError) as info:
        WRITERS[name](out, 1, writer_inputs)
    FAULTS[f"enospc {name}"] += 1
    assert disk.hits >= 1  # the fault was met (a writer may try again before giving up)
    assert _count_lost(before, snapshot(out)) == 0
    assert snapshot(out) == before  # nothing new either: no temporary, no partial file
    message = str(info.value)
    assert "No space left on device" in message and "free space in" in message
    assert str(out) in message  # the folder to free


def _kill_mid_write(name: str, out: Path, version: int, budget: int, inputs: dict) -> None:
    env = dict(os.environ, PYTHONDONTWRITEBYTECODE="1")
    env["PYTHONPATH"] = os.pathsep.join([str(HERE), str(SUPPORT), env.get("PYTHONPATH", "")])
    args = [name, str(out), str(version), str(budget), json.dumps(inputs)]
    child = subprocess.run(
        [sys.executable, str(HERE / "faulty_disk.py"), *args],
        env=env, capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    assert child.returncode == -signal.SIGKILL, child.stderr[-2000:]


@pytest.mark.slow
@pytest.mark.parametrize("name", sorted(WRITERS))
def test_a_writer_killed_mid_write_loses_nothing(
    name: str, tmp_path: Path, writer_inputs: dict[str, Any]
) -> None:
    out = tmp_path / "out"
    before, total = _previous(name, out, writer_inputs)
    _kill_mid_write(name, out, 1, total // 2, writer_inputs)
    FAULTS[f"kill {name}"] += 1
    left = temporaries(out)
    after = {k: v for k, v in snapshot(out).items() if k not in left}
    assert _count_lost(before, after) == 0
    assert after == before
    assert left  # the dead writer's partial temporary: never under the real name...
    WRITERS[name](out, 1, writer_inputs)
    assert temporaries(out) == []  # ...and removed by the next write
    assert set(snapshot(out)) == set(before)
