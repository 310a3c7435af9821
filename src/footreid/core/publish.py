"""Paths as the files footreid writes for others record them: never the writer's own.

Model folders, model cards, ONNX metadata, features files, rankings and results leave the
machine that wrote them; an absolute path there would publish its folders (a home
directory, a temporary folder). Every writer passes the paths it records through
:func:`publishable_path` (or a whole record through :func:`publishable`):

* a relative path is kept: it is relative to something the reader has (the repository,
  as ``../shared/data/snmot-reid`` in a recipe);
* an absolute path becomes relative to ``base`` (the folder of the file being written,
  which the reader holds) when the two share a folder below the filesystem root, so
  nothing above that shared folder is written;
* otherwise, or without ``base``, only its name is kept.

Readers turn a recorded path back into a usable one with :func:`restore_path`.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any


def _is_machine_path(value: str) -> bool:
    return "\n" not in value and (value.startswith("~") or os.path.isabs(value))


def publishable_path(path: str | Path, base: str | Path | None = None) -> str:
    """``path`` as a file for others records it (see the module docstring).

    Args:
        path: a path as the writer knows it (absolute, ``~``-relative or relative).
        base: the folder the reader holds (the written file's folder), or None.

    Returns:
        A relative POSIX path below the shared folder of ``path`` and ``base``, the
        relative path as given, or the name alone.
    """
    text = str(path)
    if not _is_machine_path(text):
        return Path(text).as_posix()
    absolute = Path(os.path.abspath(Path(text).expanduser()))
    if base is not None:
        anchor = Path(os.path.abspath(Path(base).expanduser()))
        shared = Path(os.path.commonpath([absolute, anchor]))
        if shared != Path(shared.anchor):
            return Path(os.path.relpath(absolute, anchor)).as_posix()
    return absolute.name


def publishable(record: Any, base: str | Path | None = None) -> Any:
    """``record`` (JSON-like: dicts, lists, strings, paths) with every absolute path published.

    A string counts as a path when it is absolute or starts with ``~``; other strings and
    values are kept as they are.
    """
    if isinstance(record, dict):
        return {key: publishable(value, base) for key, value in record.items()}
    if isinstance(record, list | tuple):
        return [publishable(value, base) for value in record]
    if isinstance(record, Path) or (isinstance(record, str) and _is_machine_path(record)):
        return publishable_path(record, base)
    return record


def absolute_path(path: str | Path) -> str:
    """``path`` made absolute from the working directory (``~`` expanded), normalised."""
    return os.path.abspath(Path(path).expanduser())


def restore_path(recorded: str | Path, base: str | Path) -> Path:
    """A recorded path made usable again: absolute as is, else relative to ``base``."""
    path = Path(recorded).expanduser()
    return path if path.is_absolute() else Path(os.path.normpath(Path(base) / path))
