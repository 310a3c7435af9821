"""Per-action k-reciprocal re-ranking (footreid) vs torchreid's ``re_ranking``.

A SoccerNet-v3 ReID valid-sized problem (11,638 queries, 34,355 gallery crops, 1,751
actions, ~6.6 queries and ~19.6 gallery crops per action, 512-d random features with a few
players per action) is re-ranked with the Standard preset (k1=20, k2=6, lambda=0.3) three
ways, each in its own subprocess so that its time and peak memory are its own:

* ``footreid``: :func:`footreid.evaluate.rerank.rerank` (actions batched by size, numpy).
* ``torchreid loop``: ``torchreid.reid.utils.rerank.re_ranking`` on each action's q-g,
  q-q and g-g blocks, in a Python loop over actions (same protocol, same numbers).
* ``torchreid whole split``: ``re_ranking`` on the whole split's (Q+G)^2 matrix, what the
  seed did (it also mixes actions, which the protocol never compares). Run only when its
  estimated memory fits in half of the available memory; otherwise the table says so.

The per-action distances (cosine, q-q and g-g included) are computed before timing. Each
worker runs on one thread (OMP/MKL/OpenBLAS = 1). Memory: ``peak RSS`` is the process's
high-water mark (imports and problem included; importing torch alone maps ~600 MB of
shared libraries); ``peak delta`` is the high-water mark during re-ranking minus the RSS
just before it (reset through /proc/self/clear_refs).

Run: ``.venv/bin/python benchmarks/bench_rerank.py`` (``--scale 0.1`` for a quick look).
"""

from __future__ import annotations

import argparse
import json
import tempfile
import time
import warnings
from pathlib import Path

import numpy as np

from _procs import available_bytes, run_worker, status_kb

VALID = {"queries": 11_638, "gallery": 34_355, "actions": 1_751}
STANDARD = {"k1": 20, "k2": 6, "lambda_value": 0.3}
WHOLE_BYTES_PER_PAIR = 4 + 4 + 8 + 4  # original f32, V f32, argsort i64 -> rank i32


def make_problem(seed: int, scale: float, dim: int):  # -> ActionDistances
    """Random valid-like split and its per-action cosine distances (q-q, g-g included)."""
    from footreid.evaluate.distances import EvalSplit, action_distances

    rng = np.random.default_rng(seed)
    n_a = max(1, round(VALID["actions"] * scale))
    n_q = max(n_a, round(VALID["queries"] * scale))
    n_g = max(n_a, round(VALID["gallery"] * scale))
    q_size = 1 + rng.multinomial(n_q - n_a, np.full(n_a, 1.0 / n_a))
    g_size = 1 + rng.multinomial(n_g - n_a, np.full(n_a, 1.0 / n_a))
    players = np.maximum(2, np.round(g_size / 2.5)).astype(np.int64)
    q_action, g_action = np.repeat(np.arange(n_a), q_size), np.repeat(np.arange(n_a), g_size)
    q_pid = q_action * 1000 + rng.integers(0, players[q_action])
    g_pid = g_action * 1000 + rng.integers(0, players[g_action])
    uid, inverse = np.unique(np.concatenate([q_pid, g_pid]), return_inverse=True)
    centres = rng.standard_normal((len(uid), dim), dtype=np.float32)
    feats = centres[inverse] + 0.8 * rng.standard_normal((len(inverse), dim), dtype=np.float32)
    feats /= np.linalg.norm(feats, axis=1, keepdims=True)
    split = EvalSplit(
        query_bbox_idx=np.arange(n_q, dtype=np.int64),
        query_action_idx=q_action,
        query_person_uid=q_pid.astype(str),
        gallery_bbox_idx=np.arange(n_g, dtype=np.int64) + n_q,
        gallery_action_idx=g_action,
        gallery_person_uid=g_pid.astype(str),
    )
    return action_distances(feats[:n_q], feats[n_q:], split, "cosine", within=True), feats


def whole_split_bytes(n_items: int) -> int:
    """Peak bytes of torchreid's re_ranking on an (N, N) problem (inputs excluded)."""
    return WHOLE_BYTES_PER_PAIR * n_items * n_items


def _peer():
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # torchreid warns about its missing Cython metrics
        from torchreid.reid.utils.rerank import re_ranking
    return re_ranking


def worker(args: argparse.Namespace) -> None:
    """Build the problem, time and memory-measure one approach, print JSON, save results."""
    dist, feats = make_problem(args.seed, args.scale, args.dim)
    n_q = dist.split.num_queries
    inputs = None
    if args.worker == "whole":
        from footreid.evaluate.distances import pairwise_distance

        qf, gf = feats[:n_q], feats[n_q:]
        inputs = [pairwise_distance(a, b, "cosine") for a, b in ((qf, gf), (qf, qf), (gf, gf))]
    del feats
    if args.worker == "ours":
        from footreid.evaluate.rerank import RERANK_PRESETS, rerank
    else:
        import torch

        torch.set_num_threads(1)
        re_ranking = _peer()
    with open("/proc/self/clear_refs", "w") as handle:
        handle.write("5")  # reset the RSS high-water mark
    before_kb = status_kb("VmRSS")
    t0 = time.perf_counter()
    if args.worker == "ours":
        out = [b.qg for b in rerank(dist, RERANK_PRESETS["standard"])]
    elif args.worker == "loop":
        out = [re_ranking(b.qg, b.qq, b.gg, **STANDARD) for b in dist]
    else:
        full = re_ranking(*inputs, **STANDARD)
        out = [full[np.ix_(b.query, b.gallery)] for b in dist]
    seconds = time.perf_counter() - t0
    delta_kb = status_kb("VmHWM") - before_kb
    np.save(args.out, np.concatenate([o.ravel() for o in out]).astype(np.float32))
    result = {"seconds": seconds, "peak_mb": status_kb("VmHWM") / 1024}
    result.update(delta_mb=delta_kb / 1024, queries=n_q, gallery=dist.split.num_gallery)
    print(json.dumps({**result, "actions": len(dist)}))


def spawn(args: argparse.Namespace, which: str, out: Path) -> dict[str, float]:
    return run_worker(__file__, which, ["--scale", str(args.scale), "--dim", str(args.dim),
                      "--seed", str(args.seed), "--out", str(out)])  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scale", type=float, default=1.0, help="fraction of valid's size")
    parser.add_argument("--dim", type=int, default=512)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--worker", choices=["ours", "loop", "whole"], help=argparse.SUPPRESS)
    parser.add_argument("--out", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker:
        worker(args)
        return
    try:
        _peer()
        peer = True
    except ImportError:
        peer = False
        print("torchreid is not installed (pip install torchreid==0.2.5): peer rows skipped")
    rows: dict[str, dict[str, float]] = {}
    notes: dict[str, str] = {}
    with tempfile.TemporaryDirectory() as tmp:
        outs = {w: Path(tmp) / f"{w}.npy" for w in ("ours", "loop", "whole")}
        rows["ours"] = spawn(args, "ours", outs["ours"])
        n_items = int(rows["ours"]["queries"] + rows["ours"]["gallery"])
        need, avail = whole_split_bytes(n_items), available_bytes()
        todo = ["loop", "whole"] if peer else []
        if peer and need > avail / 2:
            todo.remove("whole")
            notes["whole"] = (
                f"does not fit: (Q+G)^2 = {n_items:,}^2, float32 alone {4 * n_items**2 / 1e9:.1f}"
                f" GB, re_ranking needs ~{need / 1e9:.1f} GB; {avail / 1e9:.1f} GB available"
            )
        for which in todo:
            rows[which] = spawn(args, which, outs[which])
        ours = np.load(outs["ours"])
        for which in todo:
            notes[which] = f"max |diff| vs ours {np.abs(np.load(outs[which]) - ours).max():.1e}"
    print_table(rows, notes, peer)


def print_table(rows: dict[str, dict[str, float]], notes: dict[str, str], peer: bool) -> None:
    ours = rows["ours"]
    print(
        f"\nk-reciprocal re-ranking, Standard preset (k1=20, k2=6, lambda=0.3): "
        f"{ours['queries']:,} queries, {ours['gallery']:,} gallery, {ours['actions']:,} "
        "actions, 1 thread\n"
    )
    print("| approach | time (s) | speed-up | peak RSS (MB) | peak delta (MB) | note |")
    print("| --- | ---: | ---: | ---: | ---: | --- |")
    names = {"ours": "footreid rerank (per action, batched)",
             "loop": "torchreid re_ranking, per-action loop",
             "whole": "torchreid re_ranking, whole split"}  # fmt: skip
    base = rows.get("loop", ours)["seconds"]
    for which, name in names.items():
        if which in rows:
            r = rows[which]
            print(
                f"| {name} | {r['seconds']:.3f} | {base / r['seconds']:.1f}x | "
                f"{r['peak_mb']:.0f} | {r['delta_mb']:.0f} | {notes.get(which, '')} |"
            )
        elif peer:
            print(f"| {name} | - | - | - | - | {notes.get(which, '')} |")


if __name__ == "__main__":
    main()
