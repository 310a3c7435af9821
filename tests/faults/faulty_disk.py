"""Faults for footreid's writers: a disk that fills, a process killed, after N bytes.

The faults are injected where every writer's bytes pass: the file objects that
``footreid.core.io`` opens for its temporaries (``os.fdopen`` as that module sees it) and
``Path.write_bytes`` on a temporary (the ONNX and torchreid exports, which hand the file
to a checker by name). ``enospc`` raises ``OSError(ENOSPC)`` once the budget is spent
(after writing the part that fits, as a real disk does); ``kill`` sends the process
SIGKILL there, so nothing of footreid's cleanup runs.

Run as a script, it is the child process of the kill tests::

    python faulty_disk.py WRITER OUT VERSION BUDGET INPUTS_JSON
"""

from __future__ import annotations

import errno
import json
import os
import re
import signal
import sys
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

TEMP_NAME = re.compile(r"^\..+\.\d+\.[a-z0-9_]{8}(\.[^.]*)?$")
"""The temporaries of ``footreid.core.io`` (``.<name>.<pid>.<random><suffix>``)."""


FAULTS: Counter[str] = Counter()
"""Faults injected per ``kind writer``, and ``lost`` previous files (goal 0), for the summary."""


@dataclass
class Budget:
    """Bytes the disk still takes, and how many writes hit the fault."""

    left: int
    action: str  # "enospc" or "kill"
    hits: int = 0

    def take(self, data: Any, write: Callable[[Any], Any]) -> int:
        """Write what fits of ``data``; then fail (or die) as the action says."""
        size = len(data)
        if size <= self.left:
            self.left -= size
            write(data)
            return size
        if self.left:
            write(data[: self.left])
        self.left, self.hits = 0, self.hits + 1
        if self.action == "kill":
            os.kill(os.getpid(), signal.SIGKILL)
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))


class FaultyFile:
    """A file object whose writes draw on a :class:`Budget`."""

    def __init__(self, inner: Any, budget: Budget) -> None:
        self._inner, self._budget = inner, budget

    def write(self, data: Any) -> int:
        return self._budget.take(data, self._inner.write)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._inner, name)

    def __enter__(self) -> FaultyFile:
        return self

    def __exit__(self, *exc: object) -> None:
        self._inner.close()


class _OsSeenByIo:
    """The ``os`` module as ``footreid.core.io`` sees it, with a faulty ``fdopen``."""

    def __init__(self, budget: Budget) -> None:
        self._budget = budget

    def fdopen(self, fd: int, *args: Any, **kwargs: Any) -> FaultyFile:
        return FaultyFile(os.fdopen(fd, *args, **kwargs), self._budget)

    def __getattr__(self, name: str) -> Any:
        return getattr(os, name)


@contextmanager
def faulty_disk(budget: int, action: str = "enospc") -> Iterator[Budget]:
    """Within the block, footreid's output files take ``budget`` bytes, then fail."""
    import footreid.core.io as io_module

    state = Budget(budget, action)
    real_write_bytes = Path.write_bytes

    def write_bytes(self: Path, data: bytes) -> int:
        if not TEMP_NAME.match(self.name):
            return real_write_bytes(self, data)
        with open(self, "wb") as handle:
            return state.take(data, handle.write)

    saved_os = io_module.os
    io_module.os = _OsSeenByIo(state)  # type: ignore[assignment]
    Path.write_bytes = write_bytes  # type: ignore[method-assign]
    try:
        yield state
    finally:
        io_module.os = saved_os
        Path.write_bytes = real_write_bytes  # type: ignore[method-assign]


def snapshot(folder: Path) -> dict[str, bytes]:
    """Every file under ``folder`` (hidden ones too) and its bytes."""
    return {
        str(p.relative_to(folder)): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()
    }


def temporaries(folder: Path) -> list[str]:
    """Names of footreid temporaries under ``folder``."""
    return sorted(str(p.relative_to(folder)) for p in folder.rglob(".*") if TEMP_NAME.match(p.name))


# ---------------------------------------------------------------------------- the writers


def _checkpoint(out: Path, version: int, inputs: dict[str, Any]) -> None:
    import torch

    from footreid.core.layout import CHECKPOINT_FORMAT, CHECKPOINT_KEYS, CHECKPOINT_VERSION
    from footreid.train.checkpoint import save_checkpoint

    payload: dict[str, Any] = dict.fromkeys(CHECKPOINT_KEYS)
    payload |= {"format": CHECKPOINT_FORMAT, "version": CHECKPOINT_VERSION, "epoch": version}
    payload["model"] = {"w": torch.full((1 << 16,), float(version))}
    save_checkpoint(payload, out / "last.pt")


def _features(out: Path, version: int, inputs: dict[str, Any]) -> None:
    from footreid.core.records import FeatureSet

    n = 400
    FeatureSet(
        features=np.full((n, 64), version, np.float32) + np.arange(64, dtype=np.float32),
        bbox_idx=np.arange(n),
        action_idx=np.arange(n) // 20,
        person_uid=[f"p{i % 7}" for i in range(n)],
        role=["query" if i % 5 == 0 else "gallery" for i in range(n)],
        path=[f"a/{i}.png" for i in range(n)],
        clazz=["Player_team_left"] * n,
        meta={"model": f"v{version}"},
    ).save(out / "features.npz")


def _ranking(out: Path, version: int, inputs: dict[str, Any]) -> None:
    from footreid.evaluate.ranking import write_ranking

    write_ranking(out / "ranking.json", {str(q): list(range(version, 300)) for q in range(60)})


def _results(out: Path, version: int, inputs: dict[str, Any]) -> None:
    from footreid.experiment.results import write_results_json

    rows = [{"method": f"m{i}", "mAP": 0.5 + version / 100, "rank1": 0.6} for i in range(300)]
    write_results_json(out, {"version": version, "rows": rows})


def _model_folder(out: Path, version: int, inputs: dict[str, Any]) -> None:
    from footreid.export.folder import export_model_folder

    export_model_folder(inputs["checkpoints"][version], out / "model")


def _onnx(out: Path, version: int, inputs: dict[str, Any]) -> None:
    from footreid.embed.sources import load_checkpoint_model
    from footreid.export.onnx import export_onnx

    model = load_checkpoint_model(inputs["checkpoints"][version])
    export_onnx(model, out / "model.onnx", check=False)


def _torchreid(out: Path, version: int, inputs: dict[str, Any]) -> None:
    from footreid.export.torchreid import export_torchreid

    export_torchreid(inputs["checkpoints"][version], out / "osnet_x0_25_test.pt")


def _report(out: Path, version: int, inputs: dict[str, Any]) -> None:
    from footreid.report.build import build_report

    build_report(inputs["run"], out / "report", examples=2 + version, top_k=5)


WRITERS: dict[str, Callable[[Path, int, dict[str, Any]], None]] = {
    "checkpoint": _checkpoint,
    "features": _features,
    "ranking": _ranking,
    "results": _results,
    "model_folder": _model_folder,
    "onnx": _onnx,
    "torchreid": _torchreid,
    "report": _report,
}
"""Each footreid writer, given (output folder, version 0 or 1, shared inputs)."""


def main(argv: list[str]) -> None:
    """The kill tests' child: write ``VERSION`` of WRITER's output, dying after BUDGET bytes."""
    name, out, version, budget, inputs = argv
    with faulty_disk(int(budget), "kill"):
        WRITERS[name](Path(out), int(version), json.loads(inputs))
    sys.exit(3)  # reached only when the budget was never spent


if __name__ == "__main__":
    main(sys.argv[1:])
