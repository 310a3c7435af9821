"""What every benchmark table states: the CPU kind, the thread count, the FLOP limit.

* :func:`cpu_kind` -- the CPU model and whether it computes bf16 natively (the
  ``avx512_bf16`` / ``amx_bf16`` flags of ``/proc/cpuinfo``) and int8 dot products
  (``avx512_vnni`` / ``avx_vnni`` / ``amx_int8``).
* :func:`matmul_limit` -- the measured GFLOP/s of large matrix products at the current
  thread count, fp32 and bf16: the practical FLOP ceiling of this machine (a vendor's
  peak is never reached by convolutions; a large GEMM comes closest).
* :func:`model_gflop` -- FLOPs of one forward pass (``torch.utils.flop_counter``; a
  multiply-add counts 2), so a rate in images/s reads as a fraction of the limit.
* :func:`quiet_process` -- what every benchmark does first: footreid's INFO logs and
  warnings off (tables only), ``--threads`` applied.
"""

from __future__ import annotations

import logging
import time
import warnings

import torch

from footreid.core.hardware import NATIVE_BF16_FLAGS, NATIVE_INT8_FLAGS, cpu_flags, cpu_model


def cpu_kind() -> str:
    """One line: CPU model, native bf16 and int8 flags (yes/no, which), torch threads."""
    name, flags = cpu_model(), cpu_flags() or frozenset()
    bf16 = [f for f in NATIVE_BF16_FLAGS if f in flags]
    int8 = [f for f in NATIVE_INT8_FLAGS if f in flags]
    return (
        f"CPU: {name}; native bf16: {'yes (' + ', '.join(bf16) + ')' if bf16 else 'no'}; "
        f"int8 dot products: {'yes (' + ', '.join(int8) + ')' if int8 else 'no'}; "
        f"threads: {torch.get_num_threads()}"
    )


def quiet_process(threads: int = 0) -> None:
    """INFO logs and warnings off, so only the tables print; ``threads`` > 0 sets torch's."""
    logging.disable(logging.INFO)
    warnings.filterwarnings("ignore")
    if threads:
        torch.set_num_threads(threads)


def matmul_limit(dtype: torch.dtype, size: int = 2048, seconds: float = 1.5) -> float:
    """Measured GFLOP/s of (size x size) @ (size x size) products in ``dtype``, best of runs."""
    a = torch.randn(size, size).to(dtype)
    b = torch.randn(size, size).to(dtype)
    torch.mm(a, b)
    best, end = 0.0, time.perf_counter() + seconds
    while time.perf_counter() < end:
        start = time.perf_counter()
        torch.mm(a, b)
        best = max(best, 2 * size**3 / (time.perf_counter() - start) / 1e9)
    return best


def model_gflop(model: torch.nn.Module, size: tuple[int, int]) -> float:
    """GFLOP of one (1, 3, H, W) forward pass of ``model`` in eval mode."""
    from torch.utils.flop_counter import FlopCounterMode

    was_training = model.training
    model.eval()
    counter = FlopCounterMode(display=False)
    with counter, torch.no_grad():
        model(torch.zeros(1, 3, *size))
    model.train(was_training)
    return counter.get_total_flops() / 1e9
