"""``footreid export-onnx``, ``export-model`` and ``push-model``: models out of footreid.

``export-onnx``: an ONNX file for fast inference (and C++/Rust trackers). ``export-model``:
a model folder (safetensors, config.json, model card) or, with ``--format torchreid``, a
checkpoint torchreid and BoxMOT load as they are. ``push-model``: a folder to the hub.
"""

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
    from footreid.cli.console import make_console
    from footreid.cli.embed_commands import parse_size
    from footreid.core.io import check_writable
    from footreid.embed import load_embed_model
    from footreid.export import export_onnx

    if out.suffix.lower() != ".onnx":
        raise typer.BadParameter(f"'{out}': the file name must end in .onnx", param_hint="OUT")
    check_writable(out.parent)  # before the model is loaded and traced
    model = load_embed_model(source, pretrained, parse_size(input_size))
    result = export_onnx(model, out, opset=opset, check=check)
    h, w = model.input_size
    parity = (
        "not checked"
        if result.max_abs_diff is None
        else f"max |ONNX - PyTorch| {result.max_abs_diff:.1e}"
    )
    make_console().print(
        f"{model.name} at {h}x{w} -> {result.path} ({parity}, {result.seconds:.1f} s)"
    )


FORMATS = ("folder", "torchreid")


def export_model_command(
    checkpoint: Path = typer.Argument(..., help="Training checkpoint (e.g. best.pt)."),
    out: Path = typer.Argument(
        ..., help="Folder to write; for torchreid also a .pt file named <arch>_<tag>.pt."
    ),
    fmt: str = typer.Option(
        "folder",
        "--format",
        help="folder: safetensors + config.json + README.md model card (footreid.load, "
        "the hub); torchreid: an OSNet / OSNet-AIN checkpoint for torchreid and BoxMOT.",
    ),
    results: Path | None = typer.Option(
        None, "--results", help="Measured results for the card: `footreid evaluate F --json`."
    ),
    weights_dtype: str = typer.Option(
        "fp32",
        "--weights-dtype",
        help="Stored folder weights: fp32 (identical features), fp16, bf16.",
    ),
    precision: str | None = typer.Option(
        None, "--precision", hidden=True, help="Deprecated spelling of --weights-dtype."
    ),
    tag: str | None = typer.Option(
        None, "--tag", help="torchreid file name <arch>_<tag>.pt (default: the data folder)."
    ),
) -> None:
    """Export a checkpoint as a model folder, or as a torchreid/BoxMOT checkpoint."""
    from footreid.cli.console import make_console
    from footreid.core.io import check_writable
    from footreid.export import export_model_folder, export_torchreid

    if fmt not in FORMATS:
        raise typer.BadParameter(
            f"'{fmt}': choose from {', '.join(FORMATS)}", param_hint="--format"
        )
    check_writable(out.parent if out.suffix in (".pt", ".pth") else out)
    if fmt == "torchreid":
        done = export_torchreid(checkpoint, out, tag=tag)
        parity = (
            "torchreid not installed: parity not measured"
            if done.max_abs_diff is None
            else f"max |torchreid - footreid| {done.max_abs_diff:.1e}"
        )
        h, w = done.input_size
        make_console().print(f"{done.architecture} at {h}x{w} -> {done.path} ({parity})")
        return
    dtype = _weights_dtype(weights_dtype, precision)
    folder = export_model_folder(checkpoint, out, results=results, precision=dtype)
    files = ", ".join(sorted(p.name for p in folder.path.iterdir() if p.is_file()))
    make_console().print(f"{folder.config['architecture']} -> {folder.path}/ ({files})")


def _weights_dtype(weights_dtype: str, precision: str | None) -> str:
    """``--weights-dtype``, or the deprecated ``--precision`` with a warning on stderr.

    ``--precision`` means the compute dtype in ``embed``; here it was the stored dtype,
    so it was renamed and the old spelling still works for scripts written against it.
    """
    if precision is None:
        return weights_dtype
    from footreid.cli.console import make_console

    make_console(stderr=True).print(
        "warning: export-model --precision is deprecated; use --weights-dtype (the stored dtype)"
    )
    return precision


def push_model_command(
    folder: Path = typer.Argument(..., help="Model folder of `footreid export-model`."),
    repo_id: str = typer.Argument(..., help="Hub repository, ORG/NAME (created if absent)."),
    private: bool = typer.Option(False, "--private", help="Create the repository private."),
) -> None:
    """Upload a model folder to the Hugging Face hub (token: `huggingface-cli login`)."""
    from footreid.cli.console import make_console
    from footreid.export import push_model_folder

    url = push_model_folder(folder, repo_id, private=private)
    make_console().print(f"{folder} -> {repo_id} ({url}); load it with footreid.load('{repo_id}')")


def register(app: typer.Typer) -> None:
    """Add ``export-onnx``, ``export-model`` and ``push-model`` to ``app``."""
    app.command("export-onnx")(export_onnx_command)
    app.command("export-model")(export_model_command)
    app.command("push-model")(push_model_command)
