"""``footreid embed``: a checkpoint, ONNX file, model folder, hub or registry model -> a
features file."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import typer

if TYPE_CHECKING:
    from footreid.core.size import ImageSize

WORKERS_HELP = "Decoding processes (default: none on 1-2 usable cores, else 1; CUDA: up to 4)."
PRECISION_HELP = (
    "auto (bf16 where the device computes it natively, else fp32), fp32, bf16, fp16 (CUDA)."
)
BACKEND_HELP = (
    "torch, onnx (ONNX Runtime, fp32), openvino (bf16 where native, else fp32), "
    "openvino-int8 (calibrated on the dataset's train crops), or auto: the fastest that "
    "passed a parity check on this machine (measured once, cached in $FOOTREID_HOME/embed)."
)
OPTION_HELP = "Family option of a registry model, KEY=VALUE (repeatable), e.g. -o parts=2."


def parse_size(text: str | None) -> ImageSize | None:
    """``"256x128"`` -> ImageSize(256, 128); None stays None (the model's own size)."""
    from footreid.core.errors import ConfigError
    from footreid.core.size import ImageSize

    if text is None:
        return None
    try:
        return ImageSize.parse(text, "--input-size")
    except ConfigError as exc:
        raise typer.BadParameter(f"{exc}, e.g. 256x128") from None


def parse_model_options(items: list[str] | None) -> dict[str, object]:
    """``["parts=2", "bins=[8,8,4]"]`` -> ``{"parts": 2, "bins": [8, 8, 4]}`` (YAML values)."""
    import yaml

    options: dict[str, object] = {}
    for item in items or []:
        key, sep, raw = item.partition("=")
        if not sep or not key.strip():
            raise typer.BadParameter(f"'{item}' is not KEY=VALUE, e.g. parts=2")
        try:
            options[key.strip()] = yaml.safe_load(raw) if raw.strip() else ""
        except yaml.YAMLError as exc:
            raise typer.BadParameter(f"'{item}': the value is not YAML ({exc})") from None
    return options


def embed_command(
    source: str = typer.Argument(
        ...,
        help="Training checkpoint, an .onnx file (export-onnx), an Open Model Zoo ReID .xml "
        "(OpenVINO IR), a model folder (export-model), a hub name (org/name) or a registry "
        "model name.",
    ),
    data: Path = typer.Option(..., "--data", help="Dataset folder (holding reid/)."),
    split: str = typer.Option("valid", "--split", help="valid, test or challenge."),
    out: Path = typer.Option(..., "--out", help="Features file to write (.npz)."),
    pretrained: str = typer.Option(
        "none", "--pretrained", help="Weights of a registry model: none, a file or a tag."
    ),
    flip_tta: bool = typer.Option(True, "--flip-tta/--no-flip-tta", help="Mirror-image TTA."),
    batch_size: int = typer.Option(64, "--batch-size", min=1, help="Crops per forward pass."),
    workers: int | None = typer.Option(None, "--workers", min=0, help=WORKERS_HELP),
    device: str = typer.Option("auto", "--device", help="auto, cpu, cuda, cuda:N."),
    precision: str = typer.Option("auto", "--precision", help=PRECISION_HELP),
    input_size: str | None = typer.Option(
        None, "--input-size", help="HxW override (default: the size the model was trained at)."
    ),
    backend: str = typer.Option("torch", "--backend", help=BACKEND_HELP),
    option: list[str] | None = typer.Option(None, "--option", "-o", help=OPTION_HELP),
) -> None:
    """Embed the query and gallery crops of a split into a features file."""
    from footreid.api import resolve_model
    from footreid.cli.console import make_console
    from footreid.core.io import check_writable
    from footreid.embed import EmbedOptions, embed_split

    family = parse_model_options(option)
    check_writable(out.parent)  # a read-only destination fails before the model is loaded
    model = resolve_model(source, None, pretrained, parse_size(input_size), family)
    options = EmbedOptions(flip_tta, batch_size, workers, device, precision, backend=backend)
    features = embed_split(model, data, split, options)
    path = features.save(out)
    meta = features.meta
    make_console().print(
        f"{len(features)} crops x {features.dim} dims ({meta['model']}, "
        f"{meta['input_size'][0]}x{meta['input_size'][1]}, flip TTA {meta['flip_tta']}, "
        f"{meta['backend']} {meta['precision']}, {meta['embed_seconds']:.1f} s) -> {path}"
    )


def register(app: typer.Typer) -> None:
    """Add ``embed`` to the ``footreid`` app."""
    app.command("embed")(embed_command)
