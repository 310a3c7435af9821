"""Logging and the single progress wrapper used by library code.

Library code logs and never prints; progress bars are silent on non-zero
distributed ranks and when stderr is not a terminal.
"""

from __future__ import annotations

import logging
import os
import sys
import time
from collections.abc import Iterable, Iterator
from typing import Any, TypeVar

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


log = get_logger(__name__)


class Progress:
    """The one progress display of library code.

    A rich bar (description, bar, done/total, an info text, elapsed time and ETA) when
    :func:`progress_enabled`; otherwise, with ``log_every`` > 0, a log line every
    ``log_every`` steps (and at the last one) with the same information; otherwise
    nothing. Use as a context manager and call :meth:`update` after each step.

    Args:
        description: what is running ("embed osnet", "s1 2/60 256x128").
        total: number of steps, or None when unknown.
        log_every: steps between log lines when there is no bar (0: none).
    """

    def __init__(self, description: str, total: int | None, log_every: int = 0) -> None:
        self.description, self.total, self.log_every = description, total, log_every
        self.start = time.perf_counter()
        self._bar: Any = None
        self._task: Any = None

    def __enter__(self) -> Progress:
        if progress_enabled():
            from rich.progress import (
                BarColumn,
                MofNCompleteColumn,
                TextColumn,
                TimeElapsedColumn,
                TimeRemainingColumn,
            )
            from rich.progress import Progress as RichProgress

            self._bar = RichProgress(
                TextColumn("[bold]{task.description}"),
                BarColumn(),
                MofNCompleteColumn(),
                TextColumn("{task.fields[info]}"),
                TimeElapsedColumn(),
                TimeRemainingColumn(),
                transient=True,
            )
            self._bar.__enter__()
            self._task = self._bar.add_task(self.description, total=self.total, info="")
        return self

    def update(self, done: int, info: str = "") -> None:
        """``done`` steps finished; ``info`` is shown beside the bar (loss, speed...)."""
        if self._bar is not None:
            self._bar.update(self._task, completed=done, info=info)
            return
        last = self.total is not None and done == self.total
        if self.log_every > 0 and (done % self.log_every == 0 or last):
            elapsed = time.perf_counter() - self.start
            eta = elapsed / max(done, 1) * ((self.total or done) - done)
            of = f"/{self.total}" if self.total is not None else ""
            log.info("%s %d%s %s, ETA %.0f s", self.description, done, of, info, eta)

    def __exit__(self, *exc: object) -> None:
        if self._bar is not None:
            self._bar.__exit__(*exc)


def track(iterable: Iterable[T], description: str, total: int | None = None) -> Iterator[T]:
    """Iterate with a :class:`Progress` bar when enabled (no log lines)."""
    if not progress_enabled():
        yield from iterable
        return
    with Progress(description, total) as bar:
        for done, item in enumerate(iterable, start=1):
            yield item
            bar.update(done)


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
