"""Demo command: ``footreid serve RUN_DIR`` browses a run in the browser."""

from __future__ import annotations

from pathlib import Path

import typer


def serve_command(
    run_dir: Path = typer.Argument(..., help="Run directory of footreid experiment."),
    host: str = typer.Option(
        "127.0.0.1", "--host", help="Interface to bind; 0.0.0.0 exposes the demo to the network."
    ),
    port: int = typer.Option(7860, "--port", min=1, max=65535, help="TCP port."),
    request_timeout: float = typer.Option(
        30.0, "--request-timeout", min=0.1, help="Seconds a request may take (504 beyond)."
    ),
    max_embeds: int = typer.Option(
        4, "--max-embeds", min=1, help="Uploads searched at once (503 + Retry-After beyond)."
    ),
    max_upload_mb: float = typer.Option(
        10.0, "--max-upload-mb", min=0.01, max=10.0, help="Largest upload in MB (413 beyond)."
    ),
) -> None:
    """Browse a run in the browser: per-action rankings, method comparison, upload search."""
    from footreid.cli.console import make_console
    from footreid.serve import ServeLimits, serve

    limits = ServeLimits(request_timeout, max_embeds, int(max_upload_mb * 2**20))
    make_console().print(f"demo of {run_dir} on http://{host}:{port}  (Ctrl+C stops it)")
    serve(run_dir, host=host, port=port, limits=limits)


def register(app: typer.Typer) -> None:
    """Add ``serve`` to the ``footreid`` app."""
    app.command("serve")(serve_command)
