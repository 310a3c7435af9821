"""Embedding with ONNX Runtime: a ``footreid export-onnx`` file used like a PyTorch model.

The exported file carries what embedding needs in its metadata (model name, input size,
normalisation, embedding size, the source checkpoint's hash), so an ``.onnx`` file is a
complete model source for ``footreid embed`` -- no PyTorch weights, no registry.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch

from footreid.core.errors import MissingDependencyError, WeightsError
from footreid.core.io import sha256_file
from footreid.core.model_record import ONNX, ModelRecord
from footreid.embed.model import EmbedModel

# Key of the JSON metadata entry in the ONNX model's ``metadata_props``.
METADATA_KEY = "footreid"
INPUT_NAME = "images"
OUTPUT_NAME = "embeddings"


@dataclass(frozen=True)
class OnnxSpec:
    """What :class:`OnnxEmbedder` publishes in place of a ModelSpec (``embed_dim`` only)."""

    embed_dim: int


class OnnxEmbedder:
    """An ONNX Runtime session behind the small part of the nn.Module API embedding uses.

    ``embedder(x)`` maps (N, 3, H, W) float32 normalised images to (N, D) float32
    embeddings (not L2-normalised), computed on the CPU whatever ``x``'s device.
    """

    def __init__(self, path: Path, session: Any, embed_dim: int) -> None:
        self.path, self.session = path, session
        self.spec = OnnxSpec(embed_dim)

    def to(self, *args: Any, **kwargs: Any) -> OnnxEmbedder:
        """No-op: the session runs on its own providers (CPU)."""
        return self

    def eval(self) -> OnnxEmbedder:
        """No-op: an exported graph is always in inference mode."""
        return self

    def __call__(self, x: torch.Tensor) -> torch.Tensor:
        images = np.ascontiguousarray(x.detach().float().cpu().numpy())
        (out,) = self.session.run([OUTPUT_NAME], {INPUT_NAME: images})
        return torch.from_numpy(out)


def read_metadata(path: str | Path, session: Any = None) -> dict[str, Any]:
    """The footreid metadata of an exported file (raises WeightsError when absent).

    Read through ONNX Runtime (``session``, opened here when None), so embedding parses
    the file once and needs no ``onnx`` package.
    """
    session = open_session(path) if session is None else session
    props = session.get_modelmeta().custom_metadata_map
    if METADATA_KEY not in props:
        raise WeightsError(
            f"{path}: an ONNX model without footreid metadata (input size, normalisation); "
            "export it with footreid export-onnx"
        )
    return json.loads(props[METADATA_KEY])


def read_record(path: str | Path, session: Any = None) -> ModelRecord:
    """The model record an exported file's metadata holds (name, input size, mean/std, D).

    Raises:
        WeightsError: no footreid metadata, or metadata with a bad or missing entry.
    """
    return ModelRecord.from_record(read_metadata(path, session), ONNX, f"{path} metadata")


def open_session(path: str | Path | bytes, threads: int = 0) -> Any:
    """An ONNX Runtime CPU session of ``path`` (or of a serialised graph, ``bytes``).

    ``threads`` 0: onnxruntime's choice (one per core); the embedding backends pass
    torch's thread count, so one setting (``OMP_NUM_THREADS``, ``torch.set_num_threads``)
    governs every backend.
    """
    try:
        import onnxruntime as ort
    except ImportError:
        raise MissingDependencyError("onnxruntime", "onnx") from None
    options = ort.SessionOptions()
    options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    if threads > 0:
        options.intra_op_num_threads = threads
    try:
        model = path if isinstance(path, bytes) else str(path)
        return ort.InferenceSession(model, options, providers=["CPUExecutionProvider"])
    except Exception as exc:  # onnxruntime raises its own Fail/InvalidGraph types
        where = "the converted graph" if isinstance(path, bytes) else path
        raise WeightsError(f"{where}: ONNX Runtime cannot load it ({exc})") from None


def load_onnx_model(path: str | Path) -> EmbedModel:
    """An :class:`~footreid.embed.model.EmbedModel` running an exported ``.onnx`` file."""
    path = Path(path)
    session = open_session(path)
    record = read_record(path, session)
    return EmbedModel(
        model=OnnxEmbedder(path, session, int(record.embed_dim or 0)),
        name=record.name,
        input_size=record.input_size,
        mean=record.mean or (),
        std=record.std or (),
        is_cnn=False,  # channels_last and autocast do not apply to an ONNX session
        checkpoint=str(path),
        checkpoint_sha256=sha256_file(path),
        pretrained=None,
        backend="onnx",
    )
