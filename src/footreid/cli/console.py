"""The one rich console of the commands: tables at their natural width off a terminal.

At a terminal rich fits output to the window. Anywhere else (a pipe, a log file, CI)
rich would assume 80 columns and truncate headers ("quer…") or wrap names over several
lines; there the console is unbounded, so a table is as wide as its content and a line is
never broken, and Markdown is printed as its source, which reads well as it is.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from rich.console import Console

UNBOUNDED = 100_000
"""Columns of a console that is not a terminal: wider than any table footreid prints."""


def make_console(stderr: bool = False) -> Console:
    """A console on stdout (or stderr), unbounded in width when that is not a terminal."""
    from rich.console import Console

    out = Console(stderr=stderr)
    if not out.is_terminal:
        out.width = UNBOUNDED
    return out


def print_markdown(out: Console, text: str) -> None:
    """Markdown rendered at a terminal, else its source (rich would stretch it to the width)."""
    if out.is_terminal:
        from rich.markdown import Markdown

        out.print(Markdown(text))
    else:
        out.out(text.rstrip("\n"), highlight=False)
