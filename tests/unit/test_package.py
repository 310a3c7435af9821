"""Package-level guarantees: cheap import, layered imports, a complete CLI."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

from footreid import __version__
from footreid.cli.main import COMMAND_MODULES, app

OPTIONAL_HEAVY = (
    "peft",
    "onnxruntime",
    "SoccerNet",
    "tensorboard",
    "fastapi",
    "uvicorn",
    "faiss",
    "openvino",
    "nncf",
)


def test_import_footreid_loads_no_optional_dependency() -> None:
    code = (
        "import sys, footreid, footreid.cli.main; "
        f"print(','.join(m for m in {OPTIONAL_HEAVY!r} if m in sys.modules))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == ""


def test_cli_import_does_not_load_torch() -> None:
    """`footreid --help` must stay fast: commands import torch only when they run."""
    code = "import sys, footreid.cli.main; print('torch' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"


def test_version_option() -> None:
    result = CliRunner().invoke(app, ["--version"])
    assert result.exit_code == 0
    assert result.output.strip() == f"footreid {__version__}"


def test_help_lists_every_command_with_a_description() -> None:
    result = CliRunner().invoke(app, ["--help"], terminal_width=200)
    assert result.exit_code == 0
    commands = app.registered_commands
    assert len(commands) >= len(COMMAND_MODULES)
    for command in commands:
        name = command.name or command.callback.__name__.replace("_", "-")
        assert name in result.output
        doc = (command.help or command.callback.__doc__ or "").strip()
        assert doc, f"command '{name}' has no one-line description"


LINT_IMPORTS = Path(sys.executable).with_name("lint-imports")


@pytest.mark.skipif(not LINT_IMPORTS.exists(), reason="import-linter is not installed")
def test_import_layers_contract_holds() -> None:
    exe = str(LINT_IMPORTS)
    out = subprocess.run([exe], capture_output=True, text=True)
    assert out.returncode == 0, out.stdout + out.stderr
