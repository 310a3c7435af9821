"""Where the time of embedding goes: per-stage cost of decode, resize, normalise and forward.

A profile, run before changing the decode path (issue 11): each stage of the test-time
pipeline is timed alone on the same real crops, in one process at ``--threads`` torch
threads, so the table says which stage bounds the end-to-end rate:

* ``read``: the file's bytes; ``decode``: PNG -> RGB pixels (Pillow);
* ``resize``: Pillow's antialiased bilinear to 256x128 (uint8, what training uses);
* ``to tensor``: (3, H, W) uint8 tensor; ``float + normalise``: the old per-crop path
  ((3, H, W) float32 per crop, divided by 255, then normalised);
* ``batched normalise``: the same arithmetic on a (B, 3, H, W) uint8 batch at once;
* ``collate float`` / ``collate uint8``: stacking a batch (what a worker sends back);
* ``forward``: the model alone on a ready batch (torch fp32, torch bf16 where native,
  OpenVINO bf16/fp32 where installed), for scale.

Run: ``OMP_NUM_THREADS=1 taskset -c 1 .venv/bin/python benchmarks/profile_decode.py``
(``--threads N``, ``--limit`` crops).
"""

from __future__ import annotations

import argparse
import io
import sys
import time
from collections.abc import Callable
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).parent))
from _hardware import cpu_kind, quiet_process  # noqa: E402
from bench_embed import crop_paths  # noqa: E402
from footreid.core.hardware import cpu_has_native_bf16  # noqa: E402

MEAN, STD, SIZE, BATCH = (0.485, 0.456, 0.406), (0.229, 0.224, 0.225), (256, 128), 32


def per_crop_ms(items: list, fn: Callable) -> float:
    """Milliseconds per item of ``fn`` over ``items`` (best of three passes)."""
    best = float("inf")
    for _ in range(3):
        start = time.perf_counter()
        for item in items:
            fn(item)
        best = min(best, (time.perf_counter() - start) / len(items) * 1000)
    return best


def _decode(blob: bytes, image_module) -> object:
    return image_module.open(io.BytesIO(blob)).convert("RGB")


def stage_costs(paths: list[Path]) -> dict[str, float]:
    """Milliseconds per crop of each decode stage."""
    import torchvision.transforms.v2.functional as F
    from PIL import Image

    blobs = [p.read_bytes() for p in paths]
    decoded = [Image.open(io.BytesIO(b)).convert("RGB") for b in blobs]
    resized = [im.resize(SIZE[::-1], Image.Resampling.BILINEAR) for im in decoded]
    tensors = [F.pil_to_tensor(im) for im in resized]
    floats = [F.normalize(t.float().div(255), MEAN, STD) for t in tensors]
    mean = torch.tensor(MEAN).view(1, 3, 1, 1) * 255
    std = torch.tensor(STD).view(1, 3, 1, 1) * 255
    batches = [torch.stack(tensors[i : i + BATCH]) for i in range(0, len(tensors), BATCH)]
    per_batch = per_crop_ms(batches, lambda b: (b.float() - mean) / std) / BATCH
    return {
        "read": per_crop_ms(paths, Path.read_bytes),
        "decode (PNG -> RGB)": per_crop_ms(blobs, lambda b: _decode(b, Image)),
        "resize (uint8, bilinear)": per_crop_ms(
            decoded, lambda im: im.resize(SIZE[::-1], Image.Resampling.BILINEAR)
        ),
        "to tensor (uint8)": per_crop_ms(resized, F.pil_to_tensor),
        "float + normalise, per crop": per_crop_ms(
            tensors, lambda t: F.normalize(t.float().div(255), MEAN, STD)
        ),
        "batched normalise (uint8 batch)": per_batch,
        "collate float32 (per crop)": per_crop_ms(
            [floats[i : i + BATCH] for i in range(0, len(floats), BATCH)], torch.stack
        )
        / BATCH,
        "collate uint8 (per crop)": per_crop_ms(
            [tensors[i : i + BATCH] for i in range(0, len(tensors), BATCH)], torch.stack
        )
        / BATCH,
    }


def forward_costs() -> dict[str, float]:
    """Milliseconds per crop of OSNet-AIN x1.0 on a ready batch of 32."""
    from footreid.models import create_model

    model = create_model("osnet_ain_x1_0", num_classes=0).eval()
    x = torch.randn(BATCH, 3, *SIZE)
    out: dict[str, float] = {}
    with torch.inference_mode():
        out["forward torch fp32"] = per_crop_ms([x], model) / BATCH
        if cpu_has_native_bf16():
            cl = create_model("osnet_ain_x1_0", num_classes=0).eval()
            cl = cl.to(memory_format=torch.channels_last)
            xc = x.contiguous(memory_format=torch.channels_last)

            def bf16(batch: torch.Tensor) -> torch.Tensor:
                with torch.autocast("cpu", dtype=torch.bfloat16):
                    return cl(batch)

            out["forward torch bf16 channels-last"] = per_crop_ms([xc], bf16) / BATCH
    try:
        from footreid.embed import EmbedOptions, build_runner, resolve_plan
        from footreid.embed.sources import load_registry_model
    except ImportError:
        return out
    embed_model = load_registry_model("osnet_ain_x1_0")
    for name in ("openvino",):
        try:
            options = EmbedOptions(device="cpu", backend=name)
            runner = build_runner(embed_model, resolve_plan(embed_model, options))
        except Exception as exc:  # a missing optional backend is reported, not fatal
            out[f"forward {name}"] = float("nan")
            print(f"({name}: {exc})")
            continue
        out[f"forward {name} ({runner.precision})"] = per_crop_ms([x], runner.forward) / BATCH
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--threads", type=int, default=0, help="torch threads (0: default)")
    parser.add_argument("--limit", type=int, default=192, help="crops to profile")
    args = parser.parse_args()
    quiet_process(args.threads)
    paths, _root, label = crop_paths(args.limit)
    costs = {**stage_costs(paths), **forward_costs()}
    print(f"\nwhere embedding time goes, per crop; {label}")
    print(cpu_kind())
    print(f"\n| {'stage':<40} | ms per crop | crops/s |")
    print(f"|{'-' * 42}|------------:|--------:|")
    for name, ms in costs.items():
        print(f"| {name:<40} | {ms:11.3f} | {1000 / ms:7.0f} |")


if __name__ == "__main__":
    main()
