"""Run ``footreid`` as its console script does (``main()`` with ``sys.argv``), for exit codes."""

from __future__ import annotations

import sys

import pytest

from footreid.cli.main import main


def run_main(monkeypatch: pytest.MonkeyPatch, args: list[str]) -> int:
    """The exit code of ``footreid ARGS`` (0 when ``main`` returns without SystemExit)."""
    monkeypatch.setattr(sys, "argv", ["footreid", *args])
    try:
        main()
    except SystemExit as exc:
        return int(exc.code or 0)
    return 0
