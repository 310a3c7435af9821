"""Export an embedding model to ONNX and prove the file computes what PyTorch computes.

The graph takes (N, 3, H, W) float32 normalised images (N dynamic, H x W fixed at the
size the model was trained at) and returns the (N, D) embedding before L2-normalisation,
exactly what the PyTorch model returns in eval mode; flip TTA and normalisation stay in
``footreid embed``, which runs both backends alike. LoRA adapters are merged first (same
outputs, a plain graph) and a ViT's position embeddings are resampled to the export
size once (the values its forward pass computes at that size). The file carries its
embedding metadata (see :mod:`footreid.embed.onnx_runtime`) and is written atomically.

The TorchScript-based exporter of ``torch.onnx`` is used: it needs no extra package
(the torch.export-based one needs onnxscript) and exports every registered family.
"""

from __future__ import annotations

import io
import json
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from footreid.core.errors import MissingDependencyError, WeightsError
from footreid.core.io import atomic_path
from footreid.core.log import get_logger
from footreid.core.model_record import ONNX
from footreid.core.publish import publishable
from footreid.embed.convert import OPSET, export_ready, trace_onnx
from footreid.embed.model import EmbedModel
from footreid.embed.onnx_runtime import INPUT_NAME, METADATA_KEY, OUTPUT_NAME, open_session

log = get_logger(__name__)

DEFAULT_OPSET = OPSET


@dataclass(frozen=True)
class OnnxExport:
    """An exported file and its measured agreement with the PyTorch model.

    Attributes:
        path: the ``.onnx`` file.
        max_abs_diff: largest |ONNX - PyTorch| over the parity batch's L2-normalised
            embeddings (dimensionless; None when the check was skipped).
        seconds: export time.
    """

    path: Path
    max_abs_diff: float | None
    seconds: float


def _metadata(embed_model: EmbedModel) -> dict:
    return {
        **embed_model.record().to_record(ONNX),  # model, input_size, mean, std, embed_dim
        # the file is shared: the checkpoint's name and hash, never its path here
        "source": publishable(embed_model.checkpoint),
        "source_sha256": embed_model.checkpoint_sha256,
        "pretrained": publishable(embed_model.pretrained),
    }


def _graph_with_metadata(
    model: torch.nn.Module, dummy: torch.Tensor, opset: int, metadata: dict
) -> bytes:
    """The traced graph, checked, with footreid's metadata, serialised in memory."""
    import onnx

    buffer = io.BytesIO()
    trace_onnx(model, dummy, buffer, opset)
    proto = onnx.load_from_string(buffer.getvalue())
    entry = proto.metadata_props.add()
    entry.key, entry.value = METADATA_KEY, json.dumps(metadata)
    onnx.checker.check_model(proto)
    return proto.SerializeToString()


def onnx_parity(path: str | Path, model: torch.nn.Module, images: torch.Tensor) -> float:
    """Largest |ONNX Runtime - PyTorch| over L2-normalised embeddings of ``images``.

    Args:
        path: an exported file.
        model: the PyTorch model it was exported from, in eval mode.
        images: (N, 3, H, W) float32 normalised images at the exported size.
    """
    session = open_session(path)
    (ours,) = session.run([OUTPUT_NAME], {INPUT_NAME: images.numpy()})
    with torch.inference_mode():
        ref = model(images).float()
    ref = torch.nn.functional.normalize(ref, dim=1).numpy()
    ours = ours / np.maximum(np.linalg.norm(ours, axis=1, keepdims=True), 1e-12)
    return float(np.abs(ours - ref).max())


def export_onnx(
    embed_model: EmbedModel,
    out: str | Path,
    opset: int = DEFAULT_OPSET,
    check: bool = True,
    tolerance: float = 1e-4,
    seed: int = 0,
) -> OnnxExport:
    """Write ``embed_model`` as an ONNX file and (by default) check it against PyTorch.

    Args:
        embed_model: from :func:`footreid.embed.load_embed_model` (a training checkpoint
            or a registry model with weights); exported at its ``input_size``.
        out: the ``.onnx`` file to write (replaced atomically).
        opset: ONNX opset version.
        check: run ONNX Runtime on a seeded random batch of 4 and compare.
        tolerance: largest accepted difference of the L2-normalised embeddings.
        seed: seed of the parity batch.

    Raises:
        WeightsError: the source is already ONNX, or the exported file disagrees with
            PyTorch by more than ``tolerance`` (the file is then not written).
        MissingDependencyError: onnx / onnxruntime are not installed (extra ``onnx``).
    """
    if embed_model.backend != "torch":
        raise WeightsError(f"{embed_model.checkpoint}: already an ONNX file")
    try:
        import onnx  # noqa: F401
    except ImportError:
        raise MissingDependencyError("onnx", "onnx") from None
    start = time.perf_counter()
    model = export_ready(embed_model)
    h, w = embed_model.input_size
    images = torch.randn(4, 3, h, w, generator=torch.Generator().manual_seed(seed))
    out = Path(out)
    graph = _graph_with_metadata(model, images[:2], opset, _metadata(embed_model))
    with atomic_path(out, size=len(graph)) as tmp:
        tmp.write_bytes(graph)  # Python writes it: a full disk is an OSError, then explained
        diff = onnx_parity(tmp, model, images) if check else None
        if diff is not None and diff > tolerance:
            raise WeightsError(
                f"{out}: the exported graph differs from PyTorch by {diff:.2e} (> {tolerance:.0e}) "
                f"on normalised embeddings; not written (try another --opset)"
            )
    seconds = time.perf_counter() - start
    log.info("exported %s (%dx%d) to %s in %.1f s", embed_model.name, h, w, out, seconds)
    return OnnxExport(out, diff, seconds)
