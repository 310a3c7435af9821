"""End-to-end embedding throughput: footreid's ``embed`` vs torchreid's ``FeatureExtractor``.

OSNet-AIN x1.0 at 256x128 on the CPU, from PNG files to L2-normalisable features: decode,
resize, normalise, forward. The crops are the real pedestrian crops of
``../shared/data/mot20-reid`` (valid query + gallery) where present, otherwise a generated
synthetic ``tiny`` split. Rows:

* ``torchreid FeatureExtractor``: the peer's inference helper, fed batches of 32 paths
  (it decodes and transforms in the calling process, then runs the model), fp32.
* ``footreid, 0 workers``: :func:`extract_features` decoding in the calling process, the
  same work as the peer's row (fp32, no flip TTA).
* ``footreid, N workers``: decoding in DataLoader workers overlapped with the model (the
  default of ``footreid embed``), fp32, no flip TTA.
* ``footreid + flip TTA``: the default of ``footreid embed`` (two views per crop).
* ``footreid ONNX Runtime``: the model exported by ``footreid export-onnx`` and run by
  ONNX Runtime (fp32, no flip TTA, N decoding workers).
* ``footreid bf16``: bf16 autocast + channels-last, only where the CPU has native bf16
  (AVX512-BF16 or AMX): emulated bf16 is slower than fp32 and says nothing.

The rows alternate in rounds (A B C ... A B C ...) so that load from other processes hits
them alike; the table gives the median over rounds and the spread.

Run: ``.venv/bin/python benchmarks/bench_embed.py`` (``--rounds 1 --limit 128`` for a
quick look).
"""

from __future__ import annotations

import argparse
import logging
import statistics
import sys
import tempfile
import time
import warnings
from collections.abc import Callable
from pathlib import Path

import torch

SHARED_SPLIT = Path(__file__).resolve().parents[2] / "shared" / "data" / "mot20-reid"
BATCH = 32


def crop_paths(limit: int) -> tuple[list[Path], str]:
    """Up to ``limit`` PNG crops: real MOT20 crops where present, else synthetic tiny."""
    from footreid.data.soccernet import read_eval_split

    if (SHARED_SPLIT / "reid").is_dir():
        root, label = SHARED_SPLIT, "mot20-reid valid (real pedestrian crops)"
    else:
        from footreid.data.synthetic import generate

        root = generate(Path(tempfile.mkdtemp()) / "tiny", preset="tiny", seed=0)
        label = "synthetic tiny valid"
    split = read_eval_split(root, "valid")
    paths = [Path(s.path) for s in (*split.query, *split.gallery)][:limit]
    return paths, f"{label}, {len(paths)} crops"


def footreid_runner(
    paths: list[Path], workers: int, flip: bool, precision: str, onnx: bool = False
) -> Callable:
    from footreid.embed import EmbedOptions, extract_features, load_embed_model

    model = load_embed_model("osnet_ain_x1_0")
    if onnx:
        from footreid.export import export_onnx

        out = Path(tempfile.mkdtemp()) / "osnet_ain_x1_0.onnx"
        model = load_embed_model(export_onnx(model, out).path)
    options = EmbedOptions(flip, BATCH, workers, "cpu", precision)
    return lambda: extract_features(model, paths, options)


def torchreid_runner(paths: list[Path]) -> Callable:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        from torchreid.reid.models import build_model
        from torchreid.reid.utils import FeatureExtractor

    # Without a weights file the extractor downloads ImageNet weights (offline here): give
    # it a file of random weights, which costs the same to run.
    weights = Path(tempfile.mkdtemp()) / "osnet_ain_x1_0_random.pth"
    torch.save(build_model("osnet_ain_x1_0", num_classes=1, pretrained=False).state_dict(), weights)
    extractor = FeatureExtractor(
        model_name="osnet_ain_x1_0",
        model_path=str(weights),
        image_size=(256, 128),
        device="cpu",
        verbose=False,
    )
    batches = [[str(p) for p in paths[i : i + BATCH]] for i in range(0, len(paths), BATCH)]

    def run() -> None:
        for batch in batches:
            extractor(batch)

    return run


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--limit", type=int, default=192, help="crops per timed pass")
    parser.add_argument("--workers", type=int, default=2, help="decoding workers of ours")
    args = parser.parse_args()
    logging.disable(logging.INFO)
    from footreid.embed import cpu_has_native_bf16

    paths, label = crop_paths(args.limit)
    runners = {
        "torchreid FeatureExtractor": torchreid_runner(paths),
        "footreid, 0 workers": footreid_runner(paths, 0, False, "fp32"),
        f"footreid, {args.workers} workers": footreid_runner(paths, args.workers, False, "fp32"),
        "footreid + flip TTA": footreid_runner(paths, args.workers, True, "fp32"),
        "footreid ONNX Runtime": footreid_runner(paths, args.workers, False, "fp32", onnx=True),
    }
    if cpu_has_native_bf16():
        runners["footreid bf16"] = footreid_runner(paths, args.workers, False, "bf16")
    for run in runners.values():  # warm-up: allocator, workers, first-call costs
        run()
    rates: dict[str, list[float]] = {name: [] for name in runners}
    for _ in range(args.rounds):
        for name, run in runners.items():
            start = time.perf_counter()
            run()
            rates[name].append(len(paths) / (time.perf_counter() - start))
    peer = statistics.median(rates["torchreid FeatureExtractor"])
    print(f"\nembed end to end, OSNet-AIN x1.0 256x128, batch {BATCH}, CPU")
    print(f"{label}; torch threads {torch.get_num_threads()}; {args.rounds} round(s)")
    if not cpu_has_native_bf16():
        print("(no native bf16 on this CPU: the bf16 row is left out)")
    print(f"\n| {'pipeline':<28} | images/s (median) | min - max | vs torchreid |")
    print(f"|{'-' * 30}|------------------:|----------:|-------------:|")
    for name, values in rates.items():
        med = statistics.median(values)
        spread = f"{min(values):.0f} - {max(values):.0f}"
        print(f"| {name:<28} | {med:17.1f} | {spread:>9} | {med / peer:11.2f}x |")


if __name__ == "__main__":
    sys.exit(main())
