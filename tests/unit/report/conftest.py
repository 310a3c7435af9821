"""Fixtures of the report tests: a small fake experiment run (see fake_run.py)."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path
from types import ModuleType

import pytest

FAKE_RUN_FILE = Path(__file__).with_name("fake_run.py")


def load_fake_run_module() -> ModuleType:
    """Import tests/unit/report/fake_run.py by path (also used by the serve and e2e tests)."""
    name = "footreid_tests_fake_run"
    if name not in sys.modules:
        spec = importlib.util.spec_from_file_location(name, FAKE_RUN_FILE)
        module = importlib.util.module_from_spec(spec)
        sys.modules[name] = module
        spec.loader.exec_module(module)
    return sys.modules[name]


@pytest.fixture(scope="session")
def fake_run(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A fake run (two feature-only models, five methods) over drawn crops; read-only."""
    return load_fake_run_module().build_fake_run(tmp_path_factory.mktemp("fake_run"))
