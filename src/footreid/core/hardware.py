"""Where a model runs and at which precision: the one resolver of ``device`` and ``precision``.

Training (``train.device``, ``train.precision``), validation during training, embedding
(``footreid embed --device/--precision``, an experiment's ``embed`` section) and the web
demo all call :func:`resolve_device` and :func:`resolve_precision`, so ``auto`` means the
same thing everywhere:

* ``device: auto`` -- this process's CUDA GPU (``cuda:LOCAL_RANK`` under torchrun) when
  CUDA is available, else the CPU.
* ``precision: auto`` -- ``bf16`` autocast where the hardware computes bfloat16
  natively, ``fp32`` everywhere else:

  - a CUDA GPU that supports bf16 (``torch.cuda.is_bf16_supported()``: Ampere and later);
  - a CPU with AVX-512 BF16 or AMX-BF16 instructions (read from the CPU's flags, see
    :func:`cpu_has_native_bf16`; never assumed from the vendor or the model name).

  Elsewhere bf16 would be emulated, many times slower than fp32, so ``auto`` keeps fp32.
  On CPUs with native bf16 the embedding benchmark measured the same mAP as fp32 (within
  one query's AP on mot20-reid valid) at a higher speed; on GPUs bf16 autocast is the
  standard mixed-precision recipe. Weights, optimiser state and losses stay fp32 (autocast
  only changes the dtype of matrix products and convolutions).

Explicit values: ``fp32``; ``bf16`` (a warning when the CPU would emulate it); ``fp16``
(CUDA only: fp16 autocast with a gradient scaler when training). ONNX Runtime sessions
always run their fp32 graph, whatever is asked.

torch is imported inside the functions: ``footreid.core`` stays importable without it.
"""

from __future__ import annotations

import contextlib
from pathlib import Path
from typing import TYPE_CHECKING

from footreid.core.errors import ConfigError
from footreid.core.log import get_logger

if TYPE_CHECKING:
    import torch

log = get_logger(__name__)

PRECISIONS: tuple[str, ...] = ("auto", "fp32", "bf16", "fp16")
NATIVE_BF16_FLAGS: tuple[str, ...] = ("avx512_bf16", "amx_bf16")
"""x86 CPU flags (as Linux names them in /proc/cpuinfo) of native bfloat16 arithmetic."""
NATIVE_INT8_FLAGS: tuple[str, ...] = ("avx512_vnni", "avx_vnni", "amx_int8")
"""x86 CPU flags of int8 dot-product instructions (what int8 inference runs fast on)."""
CPUINFO = Path("/proc/cpuinfo")


def cpu_flags(cpuinfo: Path = CPUINFO) -> frozenset[str] | None:
    """The CPU's feature flags from ``/proc/cpuinfo`` (Linux), or None where it is absent."""
    try:
        text = cpuinfo.read_text(encoding="utf-8", errors="replace")
    except OSError:
        return None
    for line in text.splitlines():
        key, sep, value = line.partition(":")
        if sep and key.strip() in ("flags", "Features"):
            return frozenset(value.split())
    return frozenset()


def cpu_model(cpuinfo: Path = CPUINFO) -> str:
    """The CPU's model name from ``/proc/cpuinfo`` (Linux), else what ``platform`` knows."""
    try:
        for line in cpuinfo.read_text(encoding="utf-8", errors="replace").splitlines():
            key, sep, value = line.partition(":")
            if sep and key.strip() == "model name":
                return value.strip()
    except OSError:
        pass
    import platform

    return platform.processor() or platform.machine() or "unknown CPU"


def cpu_has_native_bf16() -> bool:
    """True when this CPU computes bf16 natively (AVX-512 BF16 or AMX-BF16).

    Read from the CPU flags of ``/proc/cpuinfo`` on Linux; elsewhere from torch's own
    CPU probes (``torch.cpu._is_avx512_bf16_supported`` / ``_is_amx_tile_supported``,
    backed by the cpuinfo library). False when neither can tell.
    """
    flags = cpu_flags()
    if flags is not None:
        return not flags.isdisjoint(NATIVE_BF16_FLAGS)
    import torch

    probes = ("_is_avx512_bf16_supported", "_is_amx_tile_supported")
    return any(bool(getattr(torch.cpu, name, lambda: False)()) for name in probes)


def resolve_device(device: str, local_rank: int = 0, field: str = "device") -> torch.device:
    """The ``torch.device`` that ``device`` names (see the module docstring for ``auto``).

    Args:
        device: ``auto``, ``cpu``, ``cuda``, ``cuda:N`` or anything ``torch.device`` reads.
        local_rank: this process's rank on its machine (torchrun's ``LOCAL_RANK``): ``auto``
            picks GPU ``local_rank`` modulo the GPU count.
        field: the config field or option named in errors (``train.device``).

    Raises:
        ConfigError: a string torch cannot read, or CUDA asked for where there is none.
    """
    import torch

    if device == "auto":
        if torch.cuda.is_available():
            return torch.device("cuda", local_rank % torch.cuda.device_count())
        return torch.device("cpu")
    try:
        resolved = torch.device(device)
    except RuntimeError as exc:
        raise ConfigError(f"{field}: cannot use '{device}' ({exc})") from None
    if resolved.type == "cuda" and not torch.cuda.is_available():
        raise ConfigError(f"{field}: '{device}' but CUDA is not available; use cpu or auto")
    return resolved


def device_has_native_bf16(device: torch.device) -> bool:
    """True on a CUDA GPU with bf16 support, or a CPU with native bf16 instructions."""
    import torch

    if device.type == "cuda":
        return bool(torch.cuda.is_bf16_supported())
    if device.type == "cpu":
        return cpu_has_native_bf16()
    return False


def resolve_precision(precision: str, device: torch.device, field: str = "precision") -> str:
    """``fp32``, ``bf16`` or ``fp16``: what ``precision`` means on ``device``.

    Args:
        precision: one of :data:`PRECISIONS`; ``auto`` as in the module docstring.
        device: where the model runs (from :func:`resolve_device`).
        field: the config field or option named in errors (``train.precision``).

    Raises:
        ConfigError: an unknown value, or fp16 on a device other than CUDA.
    """
    if precision not in PRECISIONS:
        raise ConfigError(
            f"{field}: '{precision}' is not a precision; choose one of {', '.join(PRECISIONS)}"
        )
    if precision == "auto":
        return "bf16" if device_has_native_bf16(device) else "fp32"
    if precision == "fp16" and device.type != "cuda":
        raise ConfigError(f"{field}: fp16 autocast needs a CUDA device; use auto, bf16 or fp32")
    if precision == "bf16" and device.type == "cpu" and not cpu_has_native_bf16():
        log.warning("this CPU has no native bf16: bf16 autocast will be emulated (slow)")
    return precision


def autocast(device: torch.device, precision: str) -> contextlib.AbstractContextManager:
    """The autocast context of a resolved ``precision`` (a no-op for fp32)."""
    import torch

    if precision == "fp32":
        return contextlib.nullcontext()
    dtype = torch.bfloat16 if precision == "bf16" else torch.float16
    return torch.autocast(device_type=device.type, dtype=dtype)
