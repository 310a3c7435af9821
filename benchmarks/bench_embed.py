"""Embedding throughput: footreid's backends vs torchreid's ``FeatureExtractor``, one run.

OSNet-AIN x1.0 at 256x128 (random weights: speed does not depend on them) on the CPU.
Two tables:

* **end to end**, from PNG files to L2-normalised features (decode, resize, normalise,
  forward), on the real pedestrian crops of ``../shared/data/mot20-reid`` valid where
  present (else a synthetic ``tiny`` split). The peer row is torchreid's
  ``FeatureExtractor`` fed batches of 32 paths (fp32, one view, decoding in the calling
  process). Ours run :func:`footreid.embed.extract_features` with the model compiled
  once (as the extractor is built once) and the default decoding (no worker process on
  1-2 cores): one row per backend, one view, then ``auto`` with flip TTA (both views in
  one pass: the TTA cost is the ratio of the last two rows). INT8 is calibrated on 300
  mot20-reid train crops. ``auto`` decides in a fresh ``$FOOTREID_HOME`` during the
  warm-up, so the timed rounds use its decision.
* **model alone**, on a ready (32, 3, 256, 128) batch: images/s and the fraction of this
  machine's FLOP limit (the measured GFLOP/s of a large matrix product at the same
  thread count, fp32 / bf16 as the row computes; int8: 4x the fp32 limit, the VNNI
  ratio; 1.96 GFLOP per image).

The rows alternate in rounds (A B C ... A B C ...) so load from other processes hits
them alike; the tables give the median over rounds and the spread.

Run: ``OMP_NUM_THREADS=1 taskset -c 1 .venv/bin/python benchmarks/bench_embed.py --threads 1``
(``--rounds``, ``--limit`` crops per pass; ``--no-bf16`` runs every backend at fp32, what
``auto`` resolves to on a CPU without native bf16 -- the nearest this machine comes to one:
the same cores, with their bf16 instructions left unused).
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
import warnings
from collections.abc import Callable
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).parent))
from _hardware import cpu_kind, matmul_limit, model_gflop, quiet_process  # noqa: E402
from footreid.core.hardware import cpu_has_native_bf16  # noqa: E402

SHARED_SPLIT = Path(__file__).resolve().parents[2] / "shared" / "data" / "mot20-reid"
BATCH = 32
MODEL = "osnet_ain_x1_0"


def crop_paths(limit: int) -> tuple[list[Path], Path, str]:
    """Up to ``limit`` PNG crops, their dataset root and a label."""
    from footreid.data.soccernet import read_eval_split

    if (SHARED_SPLIT / "reid").is_dir():
        root, label = SHARED_SPLIT, "mot20-reid valid (real pedestrian crops)"
    else:
        from footreid.data.synthetic import generate

        root = generate(Path(tempfile.mkdtemp()) / "tiny", preset="tiny", seed=0)
        label = "synthetic tiny valid"
    split = read_eval_split(root, "valid")
    paths = [Path(s.path) for s in (*split.query, *split.gallery)][:limit]
    return paths, root, f"{label}, {len(paths)} crops"


def footreid_rows(
    paths: list[Path], root: Path, no_bf16: bool
) -> dict[str, tuple[Callable, Callable, str]]:
    """name -> (end-to-end pass, model-alone forward, precision) for each backend.

    ``no_bf16``: every row at fp32 (INT8's other operations too), as ``auto`` resolves on
    a CPU without native bf16.
    """
    from footreid.data.transforms import normalize_batch
    from footreid.embed import (
        EmbedOptions,
        extract_features,
        load_embed_model,
        prepare_runner,
        resolve_plan,
    )
    from footreid.embed.batching import crop_loader, eval_transform
    from footreid.embed.extract import _calibration_crops

    calibration = _calibration_crops(root, "auto")
    rows = [("torch", "fp32", False), ("torch", "auto", False), ("onnx", "fp32", False),
            ("openvino", "auto", False), ("openvino-int8", "auto", False),
            ("auto", "auto", False), ("auto", "auto", True)]  # fmt: skip
    out = {}
    for backend, precision, tta in rows:
        model = load_embed_model(MODEL)
        transform = eval_transform(model.input_size, model.mean, model.std)
        first = normalize_batch(next(iter(crop_loader(paths[:BATCH], transform, BATCH, 0))),
                                model.mean, model.std)  # fmt: skip
        precision = "fp32" if no_bf16 else precision
        options = EmbedOptions(tta, BATCH, None, "cpu", precision, backend=backend)
        try:
            runner = prepare_runner(model, resolve_plan(model, options), first, calibration)
        except Exception as exc:  # a backend not installed here is reported, not fatal
            print(f"(footreid {backend}: {exc})")
            continue
        if backend == "torch" and runner.precision == "fp32" and "footreid torch fp32" in out:
            continue  # no native bf16: the same as the fp32 row
        name = f"footreid {'auto: ' if backend == 'auto' else ''}{runner.name} {runner.precision}"
        name += " + flip TTA" if tta else ""

        def run(model=model, options=options, runner=runner) -> None:
            extract_features(model, paths, options, calibration, runner)

        out[name] = (run, runner.forward, runner.precision)
    return out


def torchreid_row(paths: list[Path]) -> tuple[Callable, Callable, str]:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        from torchreid.reid.models import build_model
        from torchreid.reid.utils import FeatureExtractor

    # Without a weights file the extractor downloads ImageNet weights (offline here): give
    # it a file of random weights, which costs the same to run.
    weights = Path(tempfile.mkdtemp()) / f"{MODEL}_random.pth"
    torch.save(build_model(MODEL, num_classes=1, pretrained=False).state_dict(), weights)
    extractor = FeatureExtractor(model_name=MODEL, model_path=str(weights),
                                 image_size=(256, 128), device="cpu", verbose=False)  # fmt: skip
    batches = [[str(p) for p in paths[i : i + BATCH]] for i in range(0, len(paths), BATCH)]

    def run() -> None:
        for batch in batches:
            extractor(batch)

    def forward(x: torch.Tensor) -> torch.Tensor:
        with torch.no_grad():
            return extractor.model(x)

    return run, forward, "fp32"


def timed_rounds(runs: dict[str, Callable], rounds: int) -> dict[str, list[float]]:
    """Seconds per call of each, alternating in rounds after one warm-up call each."""
    for run in runs.values():
        run()
    seconds: dict[str, list[float]] = {name: [] for name in runs}
    for _ in range(rounds):
        for name, run in runs.items():
            start = time.perf_counter()
            run()
            seconds[name].append(time.perf_counter() - start)
    return seconds


def int8_limit(fp32: float, flags_int8: bool) -> float:
    """The int8 limit: 4x the fp32 one where the CPU has int8 dot products, else 0 (n/a).

    An AVX-512 VNNI / AVX-VNNI / AMX instruction does 4 int8 multiply-adds where an FMA
    does one fp32; no library exposes a tuned int8 GEMM to measure instead
    (``torch._int_mm`` on the CPU runs at about fp32 speed), so this is the VNNI ratio.
    """
    return 4 * fp32 if flags_int8 else 0.0


def print_table(title: str, rates: dict[str, list[float]], limits: dict[str, float],
                precision: dict[str, str], gflop: float) -> None:  # fmt: skip
    peer = statistics.median(next(iter(rates.values())))
    print(f"\n{title}\n")
    print(f"| {'pipeline':<44} | img/s (median) | min - max | vs torchreid | of FLOP limit |")
    print(f"|{'-' * 46}|---------------:|----------:|-------------:|--------------:|")
    for name, values in rates.items():
        med = statistics.median(values)
        limit = limits.get(precision[name], 0.0)
        share = f"{100 * med * gflop / limit:.0f} % {precision[name]}" if limit else "n/a"
        spread = f"{min(values):.1f} - {max(values):.1f}"
        print(f"| {name:<44} | {med:14.1f} | {spread:>9} | {med / peer:11.2f}x | {share:>13} |")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--limit", type=int, default=192, help="crops per timed pass")
    parser.add_argument("--threads", type=int, default=0, help="torch threads (0: default)")
    parser.add_argument(
        "--no-bf16", action="store_true", help="every backend at fp32 (as without native bf16)"
    )
    args = parser.parse_args()
    quiet_process(args.threads)
    os.environ["FOOTREID_HOME"] = tempfile.mkdtemp()  # auto decides afresh, INT8 calibrates
    from footreid.models import create_model

    paths, root, label = crop_paths(args.limit)
    rows = {
        "torchreid FeatureExtractor fp32": torchreid_row(paths),
        **footreid_rows(paths, root, args.no_bf16),
    }
    precision = {name: row[2] for name, row in rows.items()}
    seconds = timed_rounds({n: r[0] for n, r in rows.items()}, args.rounds)
    e2e = {n: [len(paths) / s for s in v] for n, v in seconds.items()}
    x = torch.randn(BATCH, 3, 256, 128)
    alone = timed_rounds({n: (lambda f=r[1]: f(x)) for n, r in rows.items()}, args.rounds)
    alone_rates = {n: [BATCH / s for s in v] for n, v in alone.items()}
    gflop = model_gflop(create_model(MODEL, num_classes=0), (256, 128))
    fp32 = matmul_limit(torch.float32)
    limits = {"fp32": fp32, "int8": int8_limit(fp32, "int8 dot products: yes" in cpu_kind())}
    if cpu_has_native_bf16() and not args.no_bf16:
        limits["bf16"] = matmul_limit(torch.bfloat16)
    print(f"\nOSNet-AIN x1.0 256x128 ({gflop:.2f} GFLOP/img), batch {BATCH}, CPU; {label}")
    print(cpu_kind())
    print("FLOP limit, GFLOP/s (fp32, bf16: a large matrix product, measured; int8: 4x fp32): "
          + ", ".join(f"{k} {v:.0f}" for k, v in limits.items()))  # fmt: skip
    note = "; --no-bf16: every backend at fp32, bf16 left unused" if args.no_bf16 else ""
    print(f"{args.rounds} rounds; one view unless '+ flip TTA'{note}")
    print_table("end to end (PNG files -> features)", e2e, limits, precision, gflop)
    print_table("model alone (ready batch of 32)", alone_rates, limits, precision, gflop)


if __name__ == "__main__":
    sys.exit(main())
