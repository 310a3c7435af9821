"""``footreid export-onnx``: a checkpoint or registry model to an ONNX file for fast inference."""

from __future__ import annotations

from pathlib import Path

import typer


def export_onnx_command(
    source: str = typer.Argument(..., help="Training checkpoint, or a registry model name."),
    out: Path = typer.Argument(..., help="ONNX file to write (.onnx)."),
    pretrained: str = typer.Option(
        "none", "--pretrained", help="Weights of a registry model: none, a file or a tag."
    ),
    input_size: str | None = typer.Option(
        None, "--input-size", help="HxW override (default: the size the model was trained at)."
    ),
    opset: int = typer.Option(17, "--opset", min=11, help="ONNX opset version."),
    check: bool = typer.Option(
        True, "--check/--no-check", help="Compare ONNX Runtime with PyTorch before writing."
    ),
) -> None:
    """Export a model to ONNX (embedding metadata inside); embed it with `footreid embed`."""
    from rich.console import Console

    from footreid.cli.features_commands import parse_size
    from footreid.embed import load_embed_model
    from footreid.export import export_onnx

    if out.suffix.lower() != ".onnx":
        raise typer.BadParameter(f"'{out}': the file name must end in .onnx", param_hint="OUT")
    model = load_embed_model(source, pretrained, parse_size(input_size))
    result = export_onnx(model, out, opset=opset, check=check)
    h, w = model.input_size
    parity = (
        "not checked"
        if result.max_abs_diff is None
        else f"max |ONNX - PyTorch| {result.max_abs_diff:.1e}"
    )
    Console().print(f"{model.name} at {h}x{w} -> {result.path} ({parity}, {result.seconds:.1f} s)")


def register(app: typer.Typer) -> None:
    """Add the ``export-onnx`` command to ``app``."""
    app.command("export-onnx")(export_onnx_command)
