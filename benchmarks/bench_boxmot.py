"""How far BoxMOT's own crop preprocessing moves a footreid model's features and its mAP.

The same weights embed the valid split of ``../shared/data/snmot-reid`` (real football)
twice: through footreid (Pillow decode, RGB, antialiased bilinear resize, fp32) and through
BoxMOT's ReID runtime on the file ``footreid export-model --format torchreid`` writes
(``cv2.imread`` BGR, ``cv2.resize`` INTER_LINEAR, its ``resize`` and ``resize_pad``
preprocessing). The table gives each pipeline's mAP and Rank-1 (%, SoccerNet per-action
protocol, cosine distance) and the least and mean cosine similarity of a crop's embedding
to footreid's (no flip TTA: BoxMOT embeds one view); footreid with flip TTA for reference.

Run (one core):
  OMP_NUM_THREADS=1 taskset -c 1 .venv/bin/python benchmarks/bench_boxmot.py
  ... --checkpoint runs/train/snmot_osnet/checkpoints/best.pt   (a footreid model)
  ... --weights ../shared/weights/osnet_x0_25_msmt17.pth --arch osnet_x0_25   (default)
"""

from __future__ import annotations

import argparse
import dataclasses
import logging
import shutil
import tempfile
import time
import warnings
from pathlib import Path

import numpy as np

SHARED = Path(__file__).resolve().parents[2] / "shared"
WEIGHTS = SHARED / "weights" / "osnet_x0_25_msmt17.pth"
ROOT = SHARED / "data" / "snmot-reid"


def boxmot_file(args: argparse.Namespace, tmp: Path) -> Path:
    """The file BoxMOT loads: footreid's torchreid export (ONNX for models torchreid cannot
    hold: BNNeck OSNets, ResNet-50, ViTs), or the torchreid weights renamed."""
    if args.checkpoint:
        from footreid.core.errors import WeightsError
        from footreid.embed import load_embed_model
        from footreid.export import export_onnx, export_torchreid

        try:
            return export_torchreid(args.checkpoint, tmp, tag="snmot").path
        except WeightsError as exc:
            print(f"# {exc}\n# -> BoxMOT runs the ONNX export instead")
            return export_onnx(load_embed_model(args.checkpoint), tmp / "football.onnx").path
    # BoxMOT reads ".pt" files and the architecture and classes from the name
    target = tmp / f"{args.arch}_{args.weights.stem.split('_')[-1]}.pt"
    shutil.copyfile(args.weights, target)
    return target


def footreid_features(args: argparse.Namespace, samples: list, flip_tta: bool):
    from footreid.embed import EmbedOptions, features_from_samples, load_embed_model

    if args.checkpoint:
        model = load_embed_model(args.checkpoint)
    else:
        model = load_embed_model(args.arch, pretrained=str(args.weights))
    options = EmbedOptions(flip_tta=flip_tta, device="cpu", precision="fp32", num_workers=0)
    return features_from_samples(model, samples, options)


def boxmot_features(path: Path, samples: list, preprocess: str, batch: int = 64) -> np.ndarray:
    from boxmot.reid.backends.onnx_backend import ONNXBackend
    from boxmot.reid.core.runtime import ReID

    # BoxMOT 25 pip-installs onnxruntime==1.24.3 when loading ONNX beside another version
    ONNXBackend._ensure_onnxruntime_installed = lambda self: None
    reid = ReID(path, device="cpu", half=False, preprocess_name=preprocess)
    paths = [str(s.path) for s in samples]
    return np.concatenate([reid(paths[i : i + batch]) for i in range(0, len(paths), batch)])


def score(features) -> tuple[float, float]:
    from footreid.evaluate.distances import feature_distances
    from footreid.evaluate.metrics import evaluate_distances

    result = evaluate_distances(feature_distances(features, "cosine"))
    return 100 * result.mAP, 100 * result.rank1


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--checkpoint", type=Path, help="a footreid training checkpoint")
    parser.add_argument("--weights", type=Path, default=WEIGHTS, help="torchreid weights")
    parser.add_argument("--arch", default="osnet_x0_25", help="architecture of --weights")
    parser.add_argument("--root", type=Path, default=ROOT)
    parser.add_argument("--split", default="valid")
    args = parser.parse_args()
    logging.disable(logging.INFO)
    warnings.filterwarnings("ignore")
    from footreid.data.soccernet import read_eval_split

    split = read_eval_split(args.root, args.split)
    samples = [*split.query, *split.gallery]
    ref = footreid_features(args, samples, flip_tta=False)
    rows = [("footreid (Pillow, RGB), flip TTA", footreid_features(args, samples, True).features)]
    rows.insert(0, ("footreid (Pillow, RGB)", ref.features))
    with tempfile.TemporaryDirectory() as tmp:
        path = boxmot_file(args, Path(tmp))
        for preprocess in ("resize", "resize_pad"):
            start = time.perf_counter()
            feats = boxmot_features(path, samples, preprocess)
            rows.append((f"BoxMOT ReID ({preprocess}, cv2, BGR)", feats))
            seconds = time.perf_counter() - start
            print(f"# BoxMOT {preprocess}: {len(samples)} crops in {seconds:.0f} s")
    source = args.checkpoint or args.weights
    print(f"\n{source.name} on {args.root.name} {args.split}: {len(samples)} crops\n")
    print("| pipeline | mAP | Rank-1 | cos to footreid: min | mean |")
    print("| --- | ---: | ---: | ---: | ---: |")
    for name, feats in rows:
        m, r1 = score(dataclasses.replace(ref, features=feats.astype(np.float32)))
        cos = np.sum(feats * ref.features, axis=1)
        print(f"| {name} | {m:.2f} | {r1:.2f} | {cos.min():.4f} | {cos.mean():.4f} |")


if __name__ == "__main__":
    main()
