"""Fixtures of the report tests: a small fake experiment run (see tests/support/fake_run.py)."""

from __future__ import annotations

from pathlib import Path

import pytest
from fake_run import build_fake_run


@pytest.fixture(scope="session")
def fake_run(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A fake run (two feature-only models, five methods) over drawn crops; read-only."""
    return build_fake_run(tmp_path_factory.mktemp("fake_run"))
