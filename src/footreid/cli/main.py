"""The ``footreid`` command: assembles the command groups and turns errors into messages.

Each module in ``COMMAND_MODULES`` exposes ``register(app)``; adding a command group
is one new module and one name here. Heavy imports happen inside the commands, so
``footreid --help`` stays fast.
"""

from __future__ import annotations

import importlib
import sys

import typer

from footreid import __version__
from footreid.core.errors import FootreidError

COMMAND_MODULES: tuple[str, ...] = (
    "data_commands",
    "evaluate_commands",
    "experiment_commands",
    "export_commands",
    "features_commands",
    "models_commands",
    "quickstart_commands",
    "report_commands",
    "synth_commands",
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
    """Console-script entry point: FootreidError becomes one red line and exit code 2."""
    try:
        app(standalone_mode=False)
    except FootreidError as exc:
        from rich.console import Console
        from rich.text import Text

        Console(stderr=True).print(Text.assemble(("error: ", "bold red"), str(exc)))
        sys.exit(2)
    except KeyboardInterrupt:
        sys.exit(130)
    except Exception as exc:  # click's usage errors when not standalone
        import click

        if isinstance(exc, click.exceptions.ClickException):
            exc.show()
            sys.exit(exc.exit_code)
        if isinstance(exc, click.exceptions.Exit):
            sys.exit(exc.exit_code)
        if isinstance(exc, click.exceptions.Abort):
            sys.exit(1)
        raise


if __name__ == "__main__":
    main()
