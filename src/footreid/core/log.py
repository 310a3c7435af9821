"""Logging and the single progress wrapper used by library code.

Library code logs and never prints; progress bars are silent on non-zero
distributed ranks and when stderr is not a terminal.
"""

from __future__ import annotations

import logging
import os
import sys
from collections.abc import Iterable, Iterator
from typing import TypeVar

T = TypeVar("T")

LOGGER_NAME = "footreid"


def get_logger(name: str) -> logging.Logger:
    """Logger under the ``footreid`` namespace (``name`` is usually ``__name__``)."""
    if not name.startswith(LOGGER_NAME):
        name = f"{LOGGER_NAME}.{name}"
    return logging.getLogger(name)


def is_main_process() -> bool:
    """True unless torchrun says this is a non-zero rank."""
    return int(os.environ.get("RANK", "0")) == 0


def progress_enabled() -> bool:
    """Progress bars show only on rank 0 with a terminal on stderr (or when forced)."""
    if os.environ.get("FOOTREID_PROGRESS") == "1":
        return is_main_process()
    if os.environ.get("FOOTREID_PROGRESS") == "0":
        return False
    return is_main_process() and sys.stderr.isatty()


def track(iterable: Iterable[T], description: str, total: int | None = None) -> Iterator[T]:
    """Iterate with a rich progress bar (elapsed, rate, ETA) when enabled."""
    if not progress_enabled():
        yield from iterable
        return
    from rich.progress import (
        BarColumn,
        MofNCompleteColumn,
        Progress,
        TextColumn,
        TimeElapsedColumn,
        TimeRemainingColumn,
    )

    columns = (
        TextColumn("[bold]{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        TimeRemainingColumn(),
    )
    with Progress(*columns, transient=True) as bar:
        yield from bar.track(iterable, total=total, description=description)


def setup_cli_logging(verbose: bool = False) -> None:
    """Route footreid's logs to stderr through rich (called by the CLI only)."""
    from rich.console import Console
    from rich.logging import RichHandler

    logger = logging.getLogger(LOGGER_NAME)
    if any(isinstance(h, RichHandler) for h in logger.handlers):
        return
    # rich's default console is stdout: that would mix logs into `--json` output
    console = Console(stderr=True)
    handler = RichHandler(console=console, show_path=False, show_time=False, markup=False)
    logger.addHandler(handler)
    logger.setLevel(logging.DEBUG if verbose else logging.INFO)
    logger.propagate = False
