"""Fixtures of the demo tests: a fake run with a real tiny checkpoint, and an API client."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path
from types import ModuleType

import pytest

FAKE_RUN_FILE = Path(__file__).resolve().parents[1] / "report" / "fake_run.py"


def load_fake_run_module() -> ModuleType:
    """Import tests/unit/report/fake_run.py by path (shared with the report tests)."""
    name = "footreid_tests_fake_run"
    if name not in sys.modules:
        spec = importlib.util.spec_from_file_location(name, FAKE_RUN_FILE)
        module = importlib.util.module_from_spec(spec)
        sys.modules[name] = module
        spec.loader.exec_module(module)
    return sys.modules[name]


@pytest.fixture(scope="session")
def served_run(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A fake run whose third model ("osnet") has a real checkpoint for upload search."""
    pytest.importorskip("fastapi", reason="the demo needs the 'serve' extra")
    root = tmp_path_factory.mktemp("served_run")
    return load_fake_run_module().build_fake_run(root, checkpoint=True)


@pytest.fixture(scope="session")
def client(served_run: Path):
    """An in-process HTTP client of the demo app (httpx through fastapi's TestClient)."""
    from fastapi.testclient import TestClient

    from footreid.serve import create_app

    with TestClient(create_app(served_run)) as test_client:
        yield test_client
