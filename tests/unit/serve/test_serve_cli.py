"""`footreid serve`: binds localhost by default; importing the package stays light."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

from footreid.cli.main import app


def test_serve_binds_loopback_by_default(served_run: Path, monkeypatch) -> None:
    uvicorn = pytest.importorskip("uvicorn")
    calls = []
    monkeypatch.setattr(uvicorn, "run", lambda the_app, **kw: calls.append((the_app, kw)))
    result = CliRunner().invoke(app, ["serve", str(served_run), "--port", "7999"])
    assert result.exit_code == 0, result.output
    ((the_app, kwargs),) = calls
    assert kwargs["host"] == "127.0.0.1" and kwargs["port"] == 7999
    assert the_app.title == "footreid demo"


def test_serve_limits_come_from_the_options(served_run: Path, monkeypatch) -> None:
    uvicorn = pytest.importorskip("uvicorn")
    calls = []
    monkeypatch.setattr(uvicorn, "run", lambda the_app, **kw: calls.append(the_app))
    options = ["--request-timeout", "5", "--max-embeds", "2", "--max-upload-mb", "0.5"]
    result = CliRunner().invoke(app, ["serve", str(served_run), *options])
    assert result.exit_code == 0, result.output
    limits = calls[0].state.limits
    assert (limits.timeout_s, limits.max_embeds, limits.max_upload_bytes) == (5.0, 2, 2**19)
    refused = CliRunner().invoke(app, ["serve", str(served_run), "--max-upload-mb", "50"])
    assert refused.exit_code != 0 and not calls[1:]


def test_importing_the_serve_package_loads_no_web_framework() -> None:
    code = (
        "import sys, footreid.serve, footreid.report; "
        "print([m for m in ('fastapi', 'uvicorn', 'faiss', 'starlette', 'torch') "
        "if m in sys.modules])"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"
