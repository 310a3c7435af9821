"""Every embedding backend against fp32 PyTorch on real crops: feature agreement and mAP.

The real checkpoint ``../shared/weights/osnet_x0_25_msmt17.pth`` (torchreid's OSNet
x0.25 trained on MSMT17) embeds the valid splits of ``../shared/data/snmot-reid`` (real
football) and ``../shared/data/mot20-reid`` (real pedestrians) with each backend; INT8 is
calibrated on each dataset's train crops. The table gives, per backend and dataset, the
least and the mean cosine similarity of a crop's embedding to fp32 PyTorch's, mAP and
Rank-1 (%) and the mAP difference to fp32 PyTorch in points (the issue's bound: 0.3).

Run: ``OMP_NUM_THREADS=1 taskset -c 1 .venv/bin/python benchmarks/bench_parity.py``
(``--threads N``; ``--no-tta`` to embed one view).
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).parent))
from _hardware import cpu_kind, quiet_process  # noqa: E402

SHARED = Path(__file__).resolve().parents[2] / "shared"
WEIGHTS = SHARED / "weights" / "osnet_x0_25_msmt17.pth"
DATASETS = ("snmot-reid", "mot20-reid")
ROWS = (("torch", "fp32"), ("torch", "auto"), ("onnx", "fp32"), ("openvino", "fp32"),
        ("openvino", "auto"), ("openvino-int8", "auto"))  # fmt: skip


def embed(backend: str, precision: str, root: Path, tta: bool):
    """The valid split's features, embedded with one backend (a fresh model each time)."""
    from footreid.embed import EmbedOptions, embed_split, load_embed_model

    model = load_embed_model("osnet_x0_25", pretrained=str(WEIGHTS))
    options = EmbedOptions(tta, 64, 0, "cpu", precision, backend=backend)
    start = time.perf_counter()
    features = embed_split(model, root, "valid", options)
    return features, time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--threads", type=int, default=0, help="torch threads (0: default)")
    parser.add_argument("--no-tta", action="store_true", help="embed one view only")
    args = parser.parse_args()
    if not WEIGHTS.is_file():
        print(f"{WEIGHTS} is absent: no real weights to compare backends with")
        return
    quiet_process(args.threads)
    os.environ.setdefault("FOOTREID_HOME", tempfile.mkdtemp())  # fresh INT8 calibration
    from footreid.evaluate.distances import feature_distances
    from footreid.evaluate.metrics import evaluate_distances

    print(f"backend parity, osnet_x0_25 MSMT17 weights, valid splits, flip TTA {not args.no_tta}")
    print(cpu_kind())
    print("\n| dataset | backend | precision | min cos | mean cos | mAP % | R1 % | dmAP pts |")
    print("|---|---|---|---:|---:|---:|---:|---:|")
    for name in DATASETS:
        root = SHARED / "data" / name
        ref = None
        for backend, precision in ROWS:
            fs, _ = embed(backend, precision, root, not args.no_tta)
            result = evaluate_distances(feature_distances(fs, "cosine"))
            if ref is None:
                ref = (fs.features, result.mAP)
            cos = (fs.features * ref[0]).sum(axis=1)
            print(f"| {name} | {fs.meta['backend']} | {fs.meta['precision']} | {cos.min():.5f} | "
                  f"{cos.mean():.5f} | {100 * result.mAP:.2f} | {100 * result.rank1:.2f} | "
                  f"{100 * (result.mAP - ref[1]):+.2f} |", flush=True)  # fmt: skip
    assert np.isfinite(ref[1])


if __name__ == "__main__":
    main()
