"""What runs an embedding model: the :class:`Runner` record, and the PyTorch and ONNX
Runtime builders (OpenVINO's are in :mod:`.openvino`; the table of backends, what each
can do and which builder makes it, is :mod:`.registry`).

Every backend is a :class:`Runner`: ``forward`` maps (N, 3, H, W) float32 normalised
images to the (N, D) float32 embedding before L2-normalisation, whatever runs it. A
builder takes the model and its resolved :class:`~footreid.embed.plan.EmbedPlan` and
decides nothing about device or precision itself. ONNX Runtime and OpenVINO use torch's
thread count, so ``OMP_NUM_THREADS`` or ``torch.set_num_threads`` sets the threads of
every backend alike.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import torch

from footreid.core.hardware import autocast
from footreid.embed.model import EmbedModel

if TYPE_CHECKING:
    from footreid.embed.plan import EmbedPlan

MIN_COSINE = {"fp32": 0.9999, "bf16": 0.99, "fp16": 0.99, "int8": 0.97}
"""Least cosine similarity of a backend's embedding to fp32 PyTorch's, per crop, by
precision: the parity check ``auto`` applies and the tests hold every backend to. The
bf16 and int8 bounds leave room over the lowest values measured on real crops with real
weights (osnet_x0_25 MSMT17 on snmot-reid / mot20-reid valid: see the parity tests)."""


@dataclass
class Runner:
    """A model ready to embed on one backend.

    Attributes:
        name: the backend's registered name (:mod:`footreid.embed.registry`).
        precision: ``fp32``, ``bf16``, ``fp16`` or ``int8`` (what the features record).
        forward: (N, 3, H, W) float32 normalised -> (N, D) float32, not normalised.
        device: where ``forward`` wants its input (the CPU except for torch on CUDA).
    """

    name: str
    precision: str
    forward: Callable[[torch.Tensor], torch.Tensor]
    device: torch.device


def torch_runner(
    embed_model: EmbedModel, plan: EmbedPlan, calibration: Sequence[str | Path] | None = None
) -> Runner:
    """PyTorch on ``plan.device`` under autocast at ``plan.precision``."""
    precision, device = plan.precision, plan.device
    nhwc = embed_model.is_cnn and (
        precision != "fp32" if plan.channels_last is None else bool(plan.channels_last)
    )
    model = embed_model.model.to(device).eval()
    if nhwc:
        model = model.to(memory_format=torch.channels_last)

    def forward(x: torch.Tensor) -> torch.Tensor:
        x = x.to(device)
        if nhwc:
            x = x.contiguous(memory_format=torch.channels_last)
        with torch.inference_mode(), autocast(device, precision):
            return model(x).float()

    return Runner(plan.backend, precision, forward, device)


def onnx_runner(
    embed_model: EmbedModel, plan: EmbedPlan, calibration: Sequence[str | Path] | None = None
) -> Runner:
    """ONNX Runtime on the CPU: the ``.onnx`` file itself, or the model's converted graph."""
    from footreid.embed.onnx_runtime import OnnxEmbedder, open_session

    threads = torch.get_num_threads()
    if plan.source_kind == "onnx":
        session = open_session(str(embed_model.checkpoint), threads)
    else:
        from footreid.embed.convert import onnx_bytes

        session = open_session(onnx_bytes(embed_model), threads)
    embedder = OnnxEmbedder(Path(str(embed_model.checkpoint)), session, 0)
    return Runner(plan.backend, plan.precision, embedder, torch.device("cpu"))


def embed_views(runner: Runner, images: torch.Tensor, flip_tta: bool) -> torch.Tensor:
    """(B, 3, H, W) float32 normalised -> (B, D) float32 L2-normalised embeddings.

    With ``flip_tta`` both views (the crops and their mirror images) go through one
    forward pass of 2B crops, and the two embeddings of a crop are averaged.
    """
    n = images.shape[0]
    if flip_tta:
        images = torch.cat([images, torch.flip(images, dims=[3])])
    emb = runner.forward(images).float().cpu()
    if flip_tta:
        emb = (emb[:n] + emb[n:]) / 2
    return torch.nn.functional.normalize(emb, dim=1)
