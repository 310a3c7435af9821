"""Model size, multiply-adds and CPU inference throughput: footreid vs torchreid.

Every registered model at its default input size (``model.spec.input_size``), in eval
mode (the embedding path), randomly initialised:

* ``params``: parameters without the identity classifier (num_classes=0).
* ``GMACs``: multiply-adds of one image, counted by ``torch.utils.flop_counter``
  (FLOPs / 2; convolutions, matmuls and attention).
* ``img/s fp32`` and ``img/s bf16``: images per second at batch 32 after warm-up,
  median over ``--iters`` batches, under ``torch.inference_mode``; bf16 is
  ``torch.autocast("cpu", dtype=torch.bfloat16)``. CNNs run channels-last.
* LoRA models are timed twice: with adapters attached (training form) and merged
  (``merge_lora()``, the inference form).

Side by side, torchreid 0.2.5's implementation of the same network where it has one
(``osnet_*``, ``osnet_ain_*``, ``resnet50``, ``resnet50_fc512``; note torchreid's
``resnet50`` keeps last stride 2, ours defaults to 1, so its maps are 4x smaller).

Run: ``.venv/bin/python benchmarks/bench_models.py [--models osnet] [--threads 1]``.
Timings on a shared machine are noisy; compare rows of one run, not runs.
"""

from __future__ import annotations

import argparse
import contextlib
import statistics
import time
import warnings
from collections.abc import Callable
from dataclasses import dataclass

import torch
from torch import nn
from torch.utils.flop_counter import FlopCounterMode

TORCHREID_PEERS = ("osnet_", "resnet50")  # name prefixes torchreid also implements


@dataclass
class Row:
    impl: str
    name: str
    size: tuple[int, int]
    params: int
    gmacs: float
    fp32: float
    bf16: float | None


def count_macs(model: nn.Module, size: tuple[int, int]) -> float:
    """Multiply-adds (G) of one image through ``model`` in eval mode."""
    counter = FlopCounterMode(display=False)
    with torch.inference_mode(), counter:
        model(torch.randn(1, 3, *size))
    return counter.get_total_flops() / 2 / 1e9


def throughput(
    model: nn.Module, size: tuple[int, int], batch: int, iters: int, bf16: bool, cnn: bool
) -> float:
    """Images per second: median over ``iters`` timed batches after two warm-up batches."""
    x = torch.randn(batch, 3, *size)
    if cnn:
        model = model.to(memory_format=torch.channels_last)
        x = x.contiguous(memory_format=torch.channels_last)
    autocast = torch.autocast("cpu", dtype=torch.bfloat16) if bf16 else contextlib.nullcontext()
    times = []
    with torch.inference_mode(), autocast:
        for i in range(iters + 2):
            start = time.perf_counter()
            model(x)
            if i >= 2:
                times.append(time.perf_counter() - start)
    return batch / statistics.median(times)


def measure(
    impl: str, name: str, build: Callable[[], nn.Module], size: tuple[int, int], args, cnn: bool
) -> Row:
    torch.manual_seed(0)
    model = build().eval()
    params = sum(p.numel() for p in model.parameters())
    classifier = getattr(model, "classifier", None)
    if isinstance(classifier, nn.Module):  # torchreid models always carry one
        params -= sum(p.numel() for p in classifier.parameters())
    gmacs = count_macs(model, size)
    fp32 = throughput(model, size, args.batch, args.iters, False, cnn)
    bf16 = throughput(model, size, args.batch, args.iters, True, cnn) if args.bf16 else None
    return Row(impl, name, size, params, gmacs, fp32, bf16)


def footreid_rows(name: str, args) -> list[Row]:
    from footreid.models import create_model

    probe = create_model(name)
    size, cnn = probe.spec.input_size, probe.spec.patch_size is None
    rows = [measure("footreid", name, lambda: create_model(name), size, args, cnn)]
    if getattr(probe, "has_lora", False):
        rows.append(
            measure("footreid", f"{name} (merged)", lambda: create_model(name).merge_lora(),
                    size, args, cnn)
        )  # fmt: skip
    return rows


def torchreid_row(name: str, size: tuple[int, int], args) -> Row | None:
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            from torchreid.reid.models import build_model
    except ImportError:
        return None
    return measure(
        "torchreid",
        name,
        lambda: build_model(name, num_classes=1000, pretrained=False),
        size,
        args,
        cnn=True,
    )


def print_table(rows: list[Row], args) -> None:
    print(f"threads={args.threads} batch={args.batch} iters={args.iters} (median), eval mode")
    print("| model | impl | input | params (M) | GMACs | img/s fp32 | img/s bf16 |")
    print("| --- | --- | --- | ---: | ---: | ---: | ---: |")
    for r in rows:
        bf16 = "-" if r.bf16 is None else f"{r.bf16:.1f}"
        print(
            f"| {r.name} | {r.impl} | {r.size[0]}x{r.size[1]} | {r.params / 1e6:.2f} | "
            f"{r.gmacs:.2f} | {r.fp32:.1f} | {bf16} |"
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--models", default="", help="only names containing this text")
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--batch", type=int, default=32)
    parser.add_argument("--iters", type=int, default=3)
    parser.add_argument(
        "--no-bf16",
        action="store_true",
        help="skip the bf16 timing (always skipped without native bf16)",
    )
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    from footreid.embed import cpu_has_native_bf16
    from footreid.models import list_models

    # emulated bf16 (no AVX512-BF16 / AMX) is many times slower than fp32 and says nothing
    args.bf16 = not args.no_bf16 and cpu_has_native_bf16()
    if not args.bf16 and not args.no_bf16:
        print("no native bf16 on this CPU: the bf16 column is left out", flush=True)

    rows: list[Row] = []
    peer_missing = False
    for name in list_models():
        if args.models not in name:
            continue
        ours = footreid_rows(name, args)
        rows.extend(ours)
        if name.startswith(TORCHREID_PEERS):
            peer = torchreid_row(name, ours[0].size, args)
            peer_missing |= peer is None
            rows.extend([peer] if peer else [])
        print(f"done {name}", flush=True)
    print_table(rows, args)
    if peer_missing:
        print("torchreid is not installed (pip install 'footreid[bench]'): no peer rows")


if __name__ == "__main__":
    main()
