"""Fixtures of the demo tests: a fake run with a real tiny checkpoint, and an API client."""

from __future__ import annotations

from pathlib import Path

import pytest
from fake_run import build_fake_run


@pytest.fixture(scope="session")
def served_run(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A fake run whose third model ("osnet") has a real checkpoint for upload search."""
    pytest.importorskip("fastapi", reason="the demo needs the 'serve' extra")
    root = tmp_path_factory.mktemp("served_run")
    return build_fake_run(root, checkpoint=True)


@pytest.fixture(scope="session")
def client(served_run: Path):
    """An in-process HTTP client of the demo app (httpx through fastapi's TestClient)."""
    from fastapi.testclient import TestClient

    from footreid.serve import create_app

    with TestClient(create_app(served_run)) as test_client:
        yield test_client
