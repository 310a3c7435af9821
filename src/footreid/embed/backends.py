"""Backends that run an embedding model: PyTorch, ONNX Runtime, OpenVINO, OpenVINO INT8.

Every backend is a :class:`Runner`: ``forward`` maps (N, 3, H, W) float32 normalised
images to the (N, D) float32 embedding before L2-normalisation, whatever runs it.

| name | runs | precision |
| --- | --- | --- |
| ``torch`` | PyTorch, CPU or CUDA | ``--precision`` (``auto``: bf16 where native) |
| ``onnx`` | ONNX Runtime, CPU | fp32 |
| ``openvino`` | OpenVINO, CPU | bf16 where the CPU has it natively, else fp32 |
| ``openvino-int8`` | OpenVINO + NNCF INT8, CPU | int8 (the rest as ``openvino``) |
| ``auto`` | the fastest of these that passed a parity check on this machine (:mod:`.auto`) | |

A ``.onnx`` source runs on ``onnx`` (its default) or the OpenVINO backends, never on
``torch``. ONNX Runtime and OpenVINO use torch's thread count, so ``OMP_NUM_THREADS`` or
``torch.set_num_threads`` sets the threads of every backend alike.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

import torch

from footreid.core.errors import ConfigError
from footreid.core.hardware import autocast, resolve_precision
from footreid.core.log import get_logger
from footreid.embed.model import EmbedModel

log = get_logger(__name__)

BACKENDS: tuple[str, ...] = ("torch", "onnx", "openvino", "openvino-int8")
BACKEND_CHOICES: tuple[str, ...] = (*BACKENDS, "auto")

MIN_COSINE = {"fp32": 0.9999, "bf16": 0.99, "fp16": 0.99, "int8": 0.97}
"""Least cosine similarity of a backend's embedding to fp32 PyTorch's, per crop, by
precision: the parity check ``auto`` applies and the tests hold every backend to. The
bf16 and int8 bounds leave room over the lowest values measured on real crops with real
weights (osnet_x0_25 MSMT17 on snmot-reid / mot20-reid valid: see the parity tests)."""


@dataclass
class Runner:
    """A model ready to embed on one backend.

    Attributes:
        name: one of :data:`BACKENDS`.
        precision: ``fp32``, ``bf16``, ``fp16`` or ``int8`` (what the features record).
        forward: (N, 3, H, W) float32 normalised -> (N, D) float32, not normalised.
        device: where ``forward`` wants its input (the CPU except for torch on CUDA).
    """

    name: str
    precision: str
    forward: Callable[[torch.Tensor], torch.Tensor]
    device: torch.device


def runtime_backend(requested: str, embed_model: EmbedModel) -> str:
    """The backend a request means for this source (``torch`` for a ``.onnx`` is ``onnx``).

    Raises:
        ConfigError: an unknown backend name.
    """
    if requested not in BACKEND_CHOICES:
        from footreid.core.registry import suggest

        raise ConfigError(
            f"backend: '{requested}' is not a backend; {suggest(requested, BACKEND_CHOICES)}"
        )
    if requested == "torch" and embed_model.backend == "onnx":
        return "onnx"
    return requested


def backend_precision(name: str, precision: str, device: torch.device) -> str:
    """The precision ``name`` runs at for a requested ``precision`` on ``device``."""
    if name == "torch":
        return resolve_precision(precision, device)
    if device.type != "cpu":
        raise ConfigError(f"backend {name} runs on the CPU: use --device cpu or --backend torch")
    if name == "onnx":
        return "fp32"
    if precision == "fp16":
        raise ConfigError(f"backend {name}: fp16 is for CUDA; use auto, bf16 or fp32")
    resolved = resolve_precision(precision, device)
    return "int8" if name == "openvino-int8" else resolved


def _torch_runner(
    embed_model: EmbedModel, device: torch.device, precision: str, channels_last: bool | None
) -> Runner:
    nhwc = embed_model.is_cnn and (
        precision != "fp32" if channels_last is None else bool(channels_last)
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

    return Runner("torch", precision, forward, device)


def _onnx_runner(embed_model: EmbedModel) -> Runner:
    from footreid.embed.onnx_runtime import OnnxEmbedder, open_session

    threads = torch.get_num_threads()
    if embed_model.backend == "onnx":
        session = open_session(str(embed_model.checkpoint), threads)
    else:
        from footreid.embed.convert import onnx_bytes

        session = open_session(onnx_bytes(embed_model), threads)
    embedder = OnnxEmbedder(Path(str(embed_model.checkpoint)), session, 0)
    return Runner("onnx", "fp32", embedder, torch.device("cpu"))


def _openvino_runner(
    embed_model: EmbedModel, name: str, precision: str, calibration: Sequence[str | Path] | None
) -> Runner:
    from footreid.embed import openvino as ov

    rest = resolve_precision("auto" if precision == "int8" else precision, torch.device("cpu"))
    if name == "openvino-int8":
        if not calibration:
            raise ConfigError(
                "backend openvino-int8 needs calibration crops: embed a dataset that has a "
                "train split (its crops calibrate the quantization), or choose another backend"
            )
        model = ov.quantize_int8(embed_model, calibration)
    else:
        model = ov.read_model(embed_model)
    compiled = ov.compile_model(model, rest, torch.get_num_threads())
    return Runner(name, precision, ov.OpenVinoForward(compiled), torch.device("cpu"))


def build_runner(
    embed_model: EmbedModel,
    name: str,
    precision: str = "auto",
    device: torch.device | None = None,
    channels_last: bool | None = None,
    calibration: Sequence[str | Path] | None = None,
) -> Runner:
    """Compile ``embed_model`` for one backend (not ``auto``: see :mod:`.auto`).

    Args:
        embed_model: from :func:`~footreid.embed.sources.load_embed_model`.
        name: one of :data:`BACKENDS`.
        precision: the requested precision (``auto``, ``fp32``, ``bf16``, ``fp16``).
        device: where torch runs (the CPU when None); the other backends need the CPU.
        channels_last: torch CNNs in NHWC; None: yes under bf16/fp16.
        calibration: crop files for ``openvino-int8`` (training crops).

    Raises:
        ConfigError: an unknown backend, or a CPU backend on CUDA.
        MissingDependencyError: the backend's package is not installed (names the extra).
    """
    device = torch.device("cpu") if device is None else device
    name = runtime_backend(name, embed_model)
    if name == "auto":
        raise ConfigError("build_runner takes a backend name; auto is chosen by embed.auto")
    resolved = backend_precision(name, precision, device)
    if name == "torch":
        return _torch_runner(embed_model, device, resolved, channels_last)
    if name == "onnx":
        return _onnx_runner(embed_model)
    return _openvino_runner(embed_model, name, resolved, calibration)


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
