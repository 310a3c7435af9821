"""Synthetic football data generation speed: crops per second on one core, per preset.

For each preset the whole dataset is generated into a fresh temporary folder (PNG files,
ground-truth JSON, side files) with ``workers=1`` and the numbers are read from the clock:
wall time, CPU time of this process (which is what "one core" means on a shared machine),
crops per second for both, and disk use. A stage breakdown on 300 crops of ``valid``
separates planning, rendering and PNG encoding. ``--workers N`` adds a parallel run.

There is no peer implementation to compare with: torchreid (the peer toolkit of the other
benchmarks) has no synthetic data generator; its datasets are downloaded folders.

Run: ``.venv/bin/python benchmarks/bench_synth.py`` (``--presets tiny,small,default``).
"""

from __future__ import annotations

import argparse
import io
import os
import shutil
import tempfile
import time
from pathlib import Path

from PIL import Image

from footreid.data.synthetic import PNG_COMPRESS_LEVEL, generate, read_summary
from footreid.data.synthetic_plan import PRESETS, plan_action
from footreid.data.synthetic_render import render_crop


def disk_bytes(root: Path) -> int:
    return sum(p.stat().st_size for p in root.rglob("*") if p.is_file())


def run_preset(preset: str, workers: int, seed: int) -> dict[str, float]:
    """Generate one preset from scratch; returns timings and sizes."""
    tmp = Path(tempfile.mkdtemp(prefix=f"bench-synth-{preset}-"))
    try:
        wall, cpu = time.perf_counter(), time.process_time()
        generate(tmp / "data", preset=preset, seed=seed, workers=workers)
        wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
        crops = read_summary(tmp / "data")["total_crops"]
        size = disk_bytes(tmp / "data")
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return {
        "crops": crops,
        "wall": wall,
        "cpu": cpu,
        "mb": size / 2**20,
        "kb_per_crop": size / crops / 1024,
    }


def stage_breakdown(seed: int, n_crops: int = 300) -> dict[str, float]:
    """Microseconds per crop of each stage, CPU time, on the first actions of ``valid``."""
    preset = PRESETS.get("small")
    t = time.process_time()
    plans, total = [], 0
    while total < n_crops:
        plans.append(plan_action(seed, "valid", len(plans), preset))
        total += len(plans[-1].crops)
    t_plan = time.process_time() - t
    requests = [crop.request for plan in plans for crop in plan.crops]
    t = time.process_time()
    images = [render_crop(r) for r in requests]
    t_render = time.process_time() - t
    t = time.process_time()
    for pixels in images:
        Image.fromarray(pixels).save(io.BytesIO(), format="PNG", compress_level=PNG_COMPRESS_LEVEL)
    t_png = time.process_time() - t
    per = 1e6 / len(requests)
    return {"plan": t_plan * per, "render": t_render * per, "png": t_png * per, "n": len(requests)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--presets", default="tiny,small", help="comma-separated presets")
    parser.add_argument("--workers", type=int, default=0, help="also time this many workers")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
    print(f"machine: {os.cpu_count()} CPUs, load average {load:.1f} (wall time suffers from load)")
    stages = stage_breakdown(args.seed)
    print(
        f"\nper crop, CPU ({stages['n']} valid crops): plan {stages['plan']:.0f} us, "
        f"render {stages['render']:.0f} us, PNG encode {stages['png']:.0f} us"
    )
    header = f"{'preset':<9}{'workers':>8}{'crops':>8}{'wall s':>9}{'cpu s':>8}"
    print(f"\n{header}{'crops/s wall':>14}{'crops/s cpu':>13}{'MB':>8}{'KB/crop':>9}")
    runs = [(p, 1) for p in args.presets.split(",")]
    if args.workers > 1:
        runs += [(p, args.workers) for p in args.presets.split(",")]
    for preset, workers in runs:
        r = run_preset(preset, workers, args.seed)
        cpu = f"{r['crops'] / r['cpu']:>13.0f}" if workers == 1 else f"{'(n/a)':>13}"
        print(
            f"{preset:<9}{workers:>8}{r['crops']:>8}{r['wall']:>9.1f}{r['cpu']:>8.1f}"
            f"{r['crops'] / r['wall']:>14.0f}{cpu}{r['mb']:>8.1f}{r['kb_per_crop']:>9.1f}"
        )
    print("\npeer: none (torchreid has no synthetic data generator)")


if __name__ == "__main__":
    main()
