"""The ``footreid`` command: assembles the command groups and turns errors into messages.

Each module in ``COMMAND_MODULES`` exposes ``register(app)``; adding a command group
is one new module and one name here. Heavy imports happen inside the commands, so
``footreid --help`` stays fast.
"""

from __future__ import annotations

import importlib
import sys
import types

import typer

from footreid._version import __version__
from footreid.core.errors import FootreidError

COMMAND_MODULES: tuple[str, ...] = (
    "data_commands",
    "embed_commands",
    "evaluate_commands",
    "evaluate_ranking_commands",
    "experiment_commands",
    "export_commands",
    "models_commands",
    "quickstart_commands",
    "report_commands",
    "serve_commands",
    "synth_commands",
    "track_commands",
    "track_eval_commands",
    "train_commands",
)

app = typer.Typer(
    name="footreid",
    help="Football player re-identification (SoccerNet-v3 ReID): data, training, "
    "per-action evaluation, ensembles, re-ranking, reports and a web demo.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)


def _version(value: bool) -> None:
    if value:
        typer.echo(f"footreid {__version__}")
        raise typer.Exit()


@app.callback()
def _root(
    version: bool = typer.Option(
        False, "--version", callback=_version, is_eager=True, help="Print the version and exit."
    ),
    verbose: bool = typer.Option(False, "--verbose", "-v", help="Debug logging."),
) -> None:
    from footreid.core.log import setup_cli_logging

    setup_cli_logging(verbose)


for _module in COMMAND_MODULES:
    importlib.import_module(f"footreid.cli.{_module}").register(app)


def main() -> None:
    """Console-script entry point.

    Exit codes: 0 success; 1 a :class:`FootreidError` (bad file, data, config or
    weights: one red ``error:`` line on stderr, nothing on stdout) or an abort; 2 a usage
    error (bad command, option or value: click's usage message); 130 interrupted.
    Anything else is a bug and keeps its traceback (exit 1).
    """
    try:
        app(standalone_mode=False)
    except FootreidError as exc:
        from rich.text import Text

        from footreid.cli.console import make_console

        make_console(stderr=True).print(Text.assemble(("error: ", "bold red"), str(exc)))
        sys.exit(1)
    except KeyboardInterrupt:
        sys.exit(130)
    except Exception as exc:  # click's usage errors when not standalone
        code = _click_exit_code(exc)
        if code is None:
            raise
        sys.exit(code)


def _click_exit_code(exc: Exception) -> int | None:
    """The exit code of one of click's own exceptions (None for anything else)."""
    for errors in _click_exception_modules():
        if isinstance(exc, getattr(errors, "ClickException", ())):
            exc.show()
            return int(exc.exit_code)
        if isinstance(exc, getattr(errors, "Exit", ())):
            return int(exc.exit_code)
        if isinstance(exc, getattr(errors, "Abort", ())):
            return 1
    return None


def _click_exception_modules() -> tuple[types.ModuleType, ...]:
    """click's exception module and the copy of it that typer raises from.

    Recent typer (0.29 here) vendors click as ``typer._click``: its usage errors are not
    ``click.ClickException``s, and checking click's classes alone let them escape as
    tracebacks with exit code 1.
    """
    import click

    return click.exceptions, sys.modules[typer.BadParameter.__module__]


if __name__ == "__main__":
    main()
