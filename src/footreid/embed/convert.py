"""A PyTorch embedding model as an in-memory ONNX graph, for ONNX Runtime and OpenVINO.

Both runtimes read ONNX, so one conversion serves both (OpenVINO's own PyTorch
frontend gives the same graph and speed here, but takes ~4x longer to convert). The
graph is what ``footreid export-onnx`` writes, without the file: (N, 3, H, W) float32
normalised images (N dynamic, H x W the model's input size) -> (N, D) float32
embedding before L2-normalisation. LoRA adapters are merged and a ViT's position
embeddings fixed at the input size first, as the exporter does.
"""

from __future__ import annotations

import io
import warnings

import torch

from footreid.core.errors import WeightsError
from footreid.embed.model import EmbedModel
from footreid.embed.onnx_runtime import INPUT_NAME, OUTPUT_NAME

OPSET = 17


def export_ready(embed_model: EmbedModel) -> torch.nn.Module:
    """The fp32 model with LoRA merged and (ViTs) position embeddings fixed at its size."""
    model = embed_model.model.float().eval()
    if getattr(model, "has_lora", False):
        model.merge_lora()
    if hasattr(model, "fix_input_size"):
        model.fix_input_size(embed_model.input_size)
    return model


def trace_onnx(
    model: torch.nn.Module, dummy: torch.Tensor, target: str | io.BytesIO, opset: int = OPSET
) -> None:
    """Write ``model``'s graph (TorchScript exporter, batch axis dynamic) to a file or buffer."""
    with warnings.catch_warnings():
        # the TorchScript exporter's deprecation notice, and a note that instance norm
        # uses batch statistics (it always does here: no running stats to export)
        warnings.simplefilter("ignore")
        torch.onnx.export(
            model,
            (dummy,),
            target,
            dynamo=False,
            input_names=[INPUT_NAME],
            output_names=[OUTPUT_NAME],
            dynamic_axes={INPUT_NAME: {0: "batch"}, OUTPUT_NAME: {0: "batch"}},
            opset_version=opset,
        )


def onnx_bytes(embed_model: EmbedModel) -> bytes:
    """The model as a serialised ONNX graph (TorchScript exporter, opset 17).

    Raises:
        WeightsError: the source is already an ONNX file (read that file instead), or
            the exporter cannot trace the model.
    """
    if embed_model.backend != "torch":
        raise WeightsError(f"{embed_model.checkpoint}: already an ONNX file, read it directly")
    model = export_ready(embed_model)
    h, w = embed_model.input_size
    buffer = io.BytesIO()
    try:
        trace_onnx(model, torch.zeros(2, 3, h, w), buffer)
    except Exception as exc:  # the exporter raises many types
        raise WeightsError(
            f"{embed_model.name}: cannot convert it to ONNX ({exc}); use --backend torch"
        ) from None
    return buffer.getvalue()
