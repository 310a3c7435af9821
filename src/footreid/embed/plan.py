"""The embedding plan: device, precision and backend resolved once, then passed down.

``embed_split`` and ``footreid.load`` call :func:`resolve_plan` at their top; everything
below them (loaders, runners, ``auto``, the features' meta) reads the frozen
:class:`EmbedPlan` and resolves nothing again. The rules:

* device: :func:`footreid.core.hardware.resolve_device` (``auto``: CUDA when available);
* backend: the request, as the model file allows (``torch`` asked for an ``.onnx`` file
  runs on ``onnx``: :func:`footreid.embed.registry.runtime_name`); it must run on the
  device;
* precision: a backend with one float precision (ONNX Runtime's fp32 graph) runs at it
  whatever is asked; the others accept ``auto`` and their precisions, resolved by
  :func:`footreid.core.hardware.resolve_precision`; a quantizing backend records its
  quantized precision (``int8``) and runs the rest at the resolved float precision.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import TYPE_CHECKING

import torch

from footreid.core.errors import ConfigError
from footreid.core.hardware import PRECISIONS, resolve_device, resolve_precision
from footreid.core.size import ImageSize
from footreid.embed.registry import AUTO, get_backend, runtime_name

if TYPE_CHECKING:
    from footreid.embed.model import EmbedModel


@dataclass
class EmbedOptions:
    """How to run the model over the crops.

    Attributes:
        flip_tta: average the embeddings of each crop and of its horizontal mirror.
        batch_size: crops per forward pass (each pass holds 2x that with flip TTA).
        num_workers: decoding processes; None: sized to the usable cores
            (:func:`footreid.embed.batching.default_num_workers`: none on 1-2 cores).
        device: "auto" (CUDA when available, else CPU), "cpu", "cuda", "cuda:1", ...
        precision: "auto", "fp32", "bf16" (autocast; channels_last for CNNs) or "fp16"
            (CUDA); ``auto`` is bf16 where the device computes bf16 natively (a CUDA GPU
            with bf16, a CPU with AVX-512 BF16 or AMX), fp32 elsewhere
            (:func:`footreid.core.hardware.resolve_precision`).
        channels_last: convert a CNN to NHWC (faster convolutions under autocast); None:
            yes under bf16/fp16, no under fp32. The conversion changes the model in place,
            so validation during training passes the run's own setting.
        backend: what runs the model (:mod:`footreid.embed.registry`): ``torch``,
            ``onnx`` (ONNX Runtime, fp32), ``openvino`` (bf16 where native, else fp32),
            ``openvino-int8`` (needs training crops to calibrate) or ``auto`` (the
            fastest that passed a parity check on this machine, :mod:`footreid.embed.auto`).
    """

    flip_tta: bool = True
    batch_size: int = 64
    num_workers: int | None = None
    device: str = "auto"
    precision: str = "auto"
    channels_last: bool | None = None
    backend: str = "torch"


@dataclass(frozen=True)
class EmbedPlan:
    """How one model embeds: every choice resolved.

    Attributes:
        source: the model's file, or its name when it has none.
        source_kind: ``torch`` or ``onnx`` (``EmbedModel.backend``: what the file holds).
        input_size: (H, W) pixels the crops are resized to.
        flip_tta: both views of each crop, averaged.
        device: where the model runs.
        backend: a registered backend, or ``auto`` (chosen on the first batch).
        precision: what runs and what features record: ``fp32``, ``bf16``, ``fp16`` or
            ``int8``; for ``auto`` the float precision asked for.
        float_precision: the precision of the operations that are not quantized
            (``precision`` itself, except for a quantizing backend).
        channels_last: torch CNNs in NHWC; None: yes under bf16/fp16.
    """

    source: str
    source_kind: str
    input_size: ImageSize
    flip_tta: bool
    device: torch.device
    backend: str
    precision: str
    float_precision: str
    channels_last: bool | None = None


def backend_precisions(backend: str, requested: str, device: torch.device) -> tuple[str, str]:
    """(recorded, float) precision of ``backend`` for ``requested`` on ``device``."""
    if backend == AUTO:
        resolved = resolve_precision(requested, device)
        return resolved, resolved
    entry = get_backend(backend)
    if device.type not in entry.devices:
        where = " or ".join(d.upper() for d in entry.devices)
        raise ConfigError(
            f"backend {backend} runs on the {where}: use --device {entry.devices[0]} "
            "or --backend torch"
        )
    if len(entry.precisions) == 1:  # a fixed graph: runs at its precision, whatever is asked
        if requested not in PRECISIONS:
            resolve_precision(requested, device)  # the one error naming the choices
        resolved = entry.precisions[0]
    else:
        if requested not in (AUTO, *entry.precisions) and requested in PRECISIONS:
            choices = [AUTO, *reversed(entry.precisions)]
            why = "is for CUDA" if requested == "fp16" else "is not a precision it computes in"
            raise ConfigError(
                f"backend {backend}: {requested} {why}; use "
                f"{', '.join(choices[:-1])} or {choices[-1]}"
            )
        resolved = resolve_precision(requested, device)
    return entry.quantized or resolved, resolved


def settings(options: EmbedOptions, source_kind: str = "torch") -> tuple[torch.device, str, str]:
    """The device, backend and precision ``options`` mean for a ``source_kind`` file."""
    device, backend, precision, _ = _resolved(options, source_kind)
    return device, backend, precision


def _resolved(options: EmbedOptions, source_kind: str) -> tuple[torch.device, str, str, str]:
    """(device, backend, recorded precision, float precision): the plan's rules, once."""
    device = resolve_device(options.device)
    backend = runtime_name(options.backend, source_kind)
    return device, backend, *backend_precisions(backend, options.precision, device)


def resolve_plan(embed_model: EmbedModel, options: EmbedOptions) -> EmbedPlan:
    """The plan of embedding ``embed_model`` with ``options`` (see the module docstring).

    Raises:
        ConfigError: an unknown device, backend or precision, a backend that does not
            run on the device, or a precision it does not compute in.
    """
    device, backend, precision, float_precision = _resolved(options, embed_model.backend)
    return EmbedPlan(
        source=str(embed_model.checkpoint or embed_model.name),
        source_kind=embed_model.backend,
        input_size=embed_model.input_size,
        flip_tta=bool(options.flip_tta),
        device=device,
        backend=backend,
        precision=precision,
        float_precision=float_precision,
        channels_last=options.channels_last,
    )


def plan_for(plan: EmbedPlan, backend: str, precision: str | None = None) -> EmbedPlan:
    """``plan`` on another backend (``auto``'s candidates, its fp32 reference).

    Args:
        plan: a resolved plan (its device stays).
        backend: a registered backend.
        precision: the float precision to ask for; None: ``plan``'s.
    """
    name = runtime_name(backend, plan.source_kind)
    asked = plan.float_precision if precision is None else precision
    recorded, float_precision = backend_precisions(name, asked, plan.device)
    return dataclasses.replace(
        plan, backend=name, precision=recorded, float_precision=float_precision
    )
