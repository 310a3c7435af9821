"""Fixtures of the fault tests: the inputs the writers need, and the tally of faults."""

from __future__ import annotations

from typing import Any

import pytest
from faulty_disk import FAULTS


@pytest.fixture(scope="session")
def writer_inputs(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """Two tiny training checkpoints (versions 0 and 1) and a fake experiment run."""
    from fake_run import build_fake_run
    from tiny_checkpoint import write_tiny_checkpoint

    root = tmp_path_factory.mktemp("writer_inputs")
    checkpoints = [str(write_tiny_checkpoint(root / f"v{v}.pt", seed=v)) for v in (0, 1)]
    run = build_fake_run(root / "fake", num_actions=3)
    return {"checkpoints": checkpoints, "run": str(run)}


def pytest_terminal_summary(terminalreporter: Any) -> None:
    if FAULTS:
        rows = ", ".join(f"{k} {n}" for k, n in sorted(FAULTS.items()) if k != "lost")
        terminalreporter.write_line(
            f"faults injected: {rows}; previous files lost: {FAULTS['lost']}"
        )
