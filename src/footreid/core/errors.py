"""Errors raised at footreid's boundaries.

Every error names the file or field at fault, what was expected, and the fix, so
the CLI can print it as one clear message instead of a traceback.
"""

from __future__ import annotations

from pathlib import Path


class FootreidError(Exception):
    """Base class of every error footreid raises on purpose."""


class DataError(FootreidError):
    """A dataset file or folder is malformed, missing or unreadable."""

    def __init__(self, path: str | Path | None, problem: str) -> None:
        self.path = None if path is None else Path(path)
        self.problem = problem
        where = f"{self.path}: " if self.path is not None else ""
        super().__init__(f"{where}{problem}")


class ConfigError(FootreidError):
    """A configuration key or value is unknown or of the wrong type."""


class RegistryError(FootreidError, KeyError):
    """An unknown name was looked up in a registry."""

    def __str__(self) -> str:  # KeyError would quote the message
        return str(self.args[0]) if self.args else ""


class WeightsError(FootreidError):
    """Pretrained weights could not be found, fetched or loaded strictly."""


class DownloadError(FootreidError):
    """A download failed (offline, missing credentials, corrupt archive)."""


class RankingError(FootreidError):
    """A ranking or ground-truth file breaks the official challenge rules."""


class TrainingError(FootreidError):
    """Training cannot go on (non-finite loss, incompatible checkpoint)."""


class OutputError(FootreidError, OSError):
    """An output file could not be written (full disk, read-only folder); names what to free."""

    def __str__(self) -> str:  # OSError would format (errno, strerror)
        return str(self.args[0]) if self.args else ""


class MissingDependencyError(FootreidError, ImportError):
    """An optional dependency is not installed; names the extra that provides it."""

    def __init__(self, module: str, extra: str) -> None:
        super().__init__(
            f"this feature needs the optional package '{module}': pip install 'footreid[{extra}]'"
        )
        self.module = module
        self.extra = extra
