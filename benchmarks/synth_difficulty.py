"""How hard is the synthetic data? Chance and colour-histogram baselines on one split.

On the real SoccerNet-v3 ReID valid split a random per-action ranking scores roughly
20-30 mAP and the seed's best trained model (OSNet-AIN) 56.83 mAP. A synthetic set on
which a colour histogram is nearly perfect would teach nothing, so this script reports,
with the official per-action protocol (footreid.evaluate.metrics.evaluate_distances):

* ``random``: random features (mean +- std over 10 seeds);
* ``hsv histogram``: 8x4x4 HSV histograms of the upper and lower body, concatenated,
  cosine distance (the classic hand-crafted ReID baseline);
* ``hsv histogram, normalised``: the same after per-image per-channel standardisation
  of RGB (a crude instance norm against camera colour styles);
* ``rgb thumbnail``: the crop resized to 16x8 RGB, standardised, cosine distance;
* ``same class only``: the histogram baseline, with gallery crops of another SoccerNet
  class (other team, referee) pushed to the end: the part left is same-kit confusion.

Run: ``.venv/bin/python benchmarks/synth_difficulty.py`` (generates or reuses the
``small`` set, seed 0, in a temporary folder; ``--root DIR`` to use another).
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

import numpy as np
from PIL import Image

from footreid.core.records import Sample
from footreid.data.soccernet import load_image, read_eval_split
from footreid.data.synthetic import generate
from footreid.evaluate.distances import ActionDistances, EvalSplit, action_distances
from footreid.evaluate.metrics import evaluate_distances


def eval_split(query: list[Sample], gallery: list[Sample]) -> EvalSplit:
    """Labels of a query + gallery list as the evaluator wants them."""

    def arrays(samples: list[Sample]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        return (
            np.array([s.bbox_idx for s in samples], dtype=np.int64),
            np.array([s.action_idx for s in samples], dtype=np.int64),
            np.array([s.person_uid for s in samples], dtype=np.str_),
        )

    return EvalSplit(*arrays(query), *arrays(gallery))


def hsv_histogram(image: Image.Image, normalise: bool) -> np.ndarray:
    """Concatenated 8x4x4 HSV histograms of the upper (shirt) and lower (shorts, socks) body."""
    if normalise:
        x = np.asarray(image, dtype=np.float32)
        x = (x - x.mean((0, 1))) / (x.std((0, 1)) + 1e-3) * 50.0 + 128.0
        image = Image.fromarray(np.clip(x, 0, 255).astype(np.uint8))
    hsv = np.asarray(image.convert("HSV"), dtype=np.int64)
    h = hsv.shape[0]
    parts = []
    for top, bottom in ((0.12, 0.5), (0.5, 0.95)):
        part = hsv[int(top * h) : max(int(bottom * h), int(top * h) + 1)].reshape(-1, 3)
        index = (part[:, 0] * 8 // 256) * 16 + (part[:, 1] * 4 // 256) * 4 + part[:, 2] * 4 // 256
        hist = np.bincount(index, minlength=128).astype(np.float32)
        parts.append(hist / max(hist.sum(), 1.0))
    return np.concatenate(parts)


def thumbnail(image: Image.Image) -> np.ndarray:
    """The crop as a standardised 16x8 RGB vector."""
    x = np.asarray(image.resize((8, 16), Image.BILINEAR), dtype=np.float32).ravel()
    return (x - x.mean()) / (x.std() + 1e-6)


def same_class_first(dist: ActionDistances, query: list[Sample], gallery: list[Sample]) -> None:
    """Push gallery crops of another class than the query's behind all others, in place."""
    for block in dist:
        qc = np.array([query[i].clazz for i in block.query])
        gc = np.array([gallery[j].clazz for j in block.gallery])
        block.qg = block.qg + 10.0 * (qc[:, None] != gc[None, :])


def score(dist: ActionDistances) -> tuple[float, float, int]:
    result = evaluate_distances(dist)
    return 100 * result.mAP, 100 * result.rank1, result.num_queries


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--root", type=Path, default=None, help="dataset root (default: temp)")
    parser.add_argument("--preset", default="small")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--split", default="valid", choices=("valid", "test"))
    args = parser.parse_args()
    root = args.root or Path(tempfile.gettempdir()) / f"footreid-synth-{args.preset}-{args.seed}"
    start = time.perf_counter()
    generate(root, args.preset, args.seed)
    print(f"dataset {root} ready in {time.perf_counter() - start:.1f} s")
    data = read_eval_split(root, args.split)
    split = eval_split(data.query, data.gallery)
    images = {id(s): load_image(s.path) for s in (*data.query, *data.gallery)}

    def features(fn, samples: list[Sample]) -> np.ndarray:
        return np.stack([fn(images[id(s)]) for s in samples])

    rows = []
    runs = []
    for seed in range(10):
        rng = np.random.default_rng(seed)
        q, g = (
            rng.standard_normal((len(data.query), 16)),
            rng.standard_normal((len(data.gallery), 16)),
        )
        runs.append(score(action_distances(q, g, split, "cosine")))
    runs_arr = np.array(runs)
    rows.append(
        ("random (10 seeds)", *runs_arr.mean(0)[:2], runs_arr.std(0)[:2], int(runs_arr[0, 2]))
    )
    for name, fn in (
        ("hsv histogram", lambda im: hsv_histogram(im, False)),
        ("hsv histogram, normalised", lambda im: hsv_histogram(im, True)),
        ("rgb thumbnail 16x8", thumbnail),
    ):
        dist = action_distances(
            features(fn, data.query), features(fn, data.gallery), split, "cosine"
        )
        rows.append((name, *score(dist)[:2], None, score(dist)[2]))
        if name == "hsv histogram":
            same_class_first(dist, data.query, data.gallery)
            rows.append(("hsv histogram, same class first", *score(dist)[:2], None, score(dist)[2]))
    n_actions = len({s.action_idx for s in data.query})
    print(
        f"\n{args.preset} seed {args.seed}, split {args.split}: {len(data.query)} queries, "
        f"{len(data.gallery)} gallery, {n_actions} actions"
    )
    print(f"{'baseline':<34} {'mAP':>14} {'Rank-1':>14} {'queries':>8}")
    for name, m, r1, std, n in rows:
        spread = f" +-{std[0]:.1f}" if std is not None else ""
        spread1 = f" +-{std[1]:.1f}" if std is not None else ""
        print(f"{name:<34} {m:>8.2f}{spread:<6} {r1:>8.2f}{spread1:<6} {n:>8}")
    print("\nreal SoccerNet-v3 valid for reference: random ~20-30 mAP; seed's OSNet-AIN 56.83 mAP")


if __name__ == "__main__":
    main()
