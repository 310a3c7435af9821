"""Commands printed for the user to run next must run as printed, from their shell."""

from __future__ import annotations

import shutil
import sys
from pathlib import Path


def footreid_executable() -> str:
    """How to call ``footreid`` from the user's shell as it is now.

    ``footreid`` when the PATH finds this installation (an activated venv); otherwise the
    script beside this interpreter (``.venv/bin/footreid`` after ``make quickstart``),
    else ``python -m footreid.cli.main`` with this interpreter.
    """
    script = Path(sys.executable).parent / "footreid"
    found = shutil.which("footreid")
    if found is not None and (not script.is_file() or Path(found).resolve() == script.resolve()):
        return "footreid"
    if script.is_file():
        return _shell_path(script)
    return f"{_shell_path(Path(sys.executable))} -m footreid.cli.main"


def _shell_path(path: Path) -> str:
    """``path`` relative to the working directory when it lies below it, else absolute."""
    try:
        return str(path.absolute().relative_to(Path.cwd()))
    except ValueError:
        return str(path.absolute())
