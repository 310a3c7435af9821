"""Per-action evaluation (footreid) vs the official toolkit's full-matrix evaluation.

A SoccerNet-v3 ReID valid-sized problem (11,638 queries, 34,355 gallery crops, 1,751
actions, 512-d random features, ~6.6 queries and ~19.6 gallery crops per action) is scored
twice, each approach in its own subprocess so that its peak memory is its own:

* ``footreid``: :func:`action_distances` (squared L2 per action block) then
  :func:`evaluate_distances` (vectorised per-action mAP/CMC).
* ``full matrix``: what torchreid / sn-reid do: the full Q x G distance matrix
  (torchreid's ``compute_distance_matrix``, squared L2), ``argsort`` of every row over the
  whole gallery, then a per-query loop that masks out other actions and computes AP/CMC
  (the loop of sn-reid's SoccerNet evaluation). When the full matrix would not fit in the
  available memory, it is processed in query chunks and the table says so.

Both run on one thread (OMP/MKL threads = 1). Peak memory = peak RSS during the
evaluation minus RSS just before it (features already in memory), read from
/proc/self/status after resetting the high-water mark through /proc/self/clear_refs.

Run: ``.venv/bin/python benchmarks/bench_eval.py`` (``--scale 0.1`` for a quick look).
"""

from __future__ import annotations

import argparse
import contextlib
import json
import resource
import time
import warnings

import numpy as np

from _procs import available_bytes, run_worker, status_kb

VALID = {"queries": 11_638, "gallery": 34_355, "actions": 1_751}
BYTES_PER_PAIR = 4 + 8 + 8 + 4  # distmat f32, argsort i64, pids[indices] i64, matches i32


def make_problem(seed: int, scale: float, dim: int) -> dict[str, np.ndarray]:
    """Random valid-like split: per-action sizes ~ 1 + multinomial, every query matched."""
    rng = np.random.default_rng(seed)
    n_a = max(1, round(VALID["actions"] * scale))
    n_q = max(n_a, round(VALID["queries"] * scale))
    n_g = max(n_q, round(VALID["gallery"] * scale))
    q_size = 1 + rng.multinomial(n_q - n_a, np.full(n_a, 1.0 / n_a))
    g_size = q_size + rng.multinomial(n_g - n_q, np.full(n_a, 1.0 / n_a))
    q_action = np.repeat(np.arange(n_a), q_size)
    g_action = np.repeat(np.arange(n_a), g_size)
    q_pid = q_action * 1000 + (np.arange(n_q) - np.repeat(np.cumsum(q_size) - q_size, q_size))
    # gallery: one replay crop of each query's player, the rest drawn from the action's
    # queried players or from ~5 players that no query shows
    k_g = np.arange(n_g) - np.repeat(np.cumsum(g_size) - g_size, g_size)
    extra = rng.integers(0, np.repeat(q_size, g_size) + 5)
    g_pid = g_action * 1000 + np.where(k_g < np.repeat(q_size, g_size), k_g, extra)
    return {
        "q_action": q_action, "g_action": g_action, "q_pid": q_pid, "g_pid": g_pid,
        "q_feat": rng.standard_normal((n_q, dim), dtype=np.float32),
        "g_feat": rng.standard_normal((n_g, dim), dtype=np.float32),
    }  # fmt: skip


def run_ours(p: dict[str, np.ndarray], max_rank: int) -> tuple[float, float, str]:
    """footreid: distance blocks per action, vectorised metrics."""
    from footreid.evaluate.distances import EvalSplit, action_distances
    from footreid.evaluate.metrics import evaluate_distances

    split = EvalSplit(
        query_bbox_idx=np.arange(len(p["q_pid"])),
        query_action_idx=p["q_action"],
        query_person_uid=p["q_pid"].astype(str),
        gallery_bbox_idx=np.arange(len(p["g_pid"])) + len(p["q_pid"]),
        gallery_action_idx=p["g_action"],
        gallery_person_uid=p["g_pid"].astype(str),
    )
    res = evaluate_distances(action_distances(p["q_feat"], p["g_feat"], split, "sqeuclidean"))
    return res.mAP, res.rank1, "per action"


def run_full_matrix(
    p: dict[str, np.ndarray], max_rank: int, chunk: int
) -> tuple[float, float, str]:
    """Official toolkit: full distmat, argsort over all gallery, mask other actions."""
    import torch

    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            from torchreid.reid.metrics import compute_distance_matrix
        how = "torchreid.compute_distance_matrix"
    except ImportError:  # same computation as torchreid's euclidean_squared_distance

        def compute_distance_matrix(a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
            d = (a * a).sum(1, keepdim=True) + (b * b).sum(1)[None, :]
            return d.addmm_(a, b.t(), beta=1, alpha=-2)

        how = "torch (torchreid not installed)"
    q_pid, g_pid, q_act, g_act = p["q_pid"], p["g_pid"], p["q_action"], p["g_action"]
    g_feat = torch.from_numpy(p["g_feat"])
    all_cmc, all_ap = [], []
    for start in range(0, len(q_pid), chunk):
        stop = min(start + chunk, len(q_pid))
        distmat = compute_distance_matrix(torch.from_numpy(p["q_feat"][start:stop]), g_feat)
        distmat = distmat.numpy()
        indices = np.argsort(distmat, axis=1)
        matches = (g_pid[indices] == q_pid[start:stop, None]).astype(np.int32)
        for i in range(stop - start):
            order = indices[i]
            keep = g_act[order] == q_act[start + i]
            raw_cmc = matches[i][keep]
            if not raw_cmc.any():
                continue
            cmc = raw_cmc.cumsum()
            cmc[cmc > 1] = 1
            all_cmc.append(np.pad(cmc[:max_rank], (0, max(0, max_rank - len(cmc)))))
            hits_so_far = raw_cmc.cumsum() / (np.arange(len(raw_cmc)) + 1.0)
            all_ap.append((hits_so_far * raw_cmc).sum() / raw_cmc.sum())
        del distmat, indices, matches
    cmc = np.asarray(all_cmc, dtype=np.float32).mean(0)
    return float(np.mean(all_ap)), float(cmc[0]), how


def _preload(which: str) -> None:
    if which == "ours":
        import footreid.evaluate.metrics  # noqa: F401

        return
    import torch

    torch.set_num_threads(1)
    with warnings.catch_warnings(), contextlib.suppress(ImportError):
        warnings.simplefilter("ignore")
        import torchreid.reid.metrics  # noqa: F401


def worker(args: argparse.Namespace) -> None:
    """Build the problem, then time and memory-measure one approach; print JSON."""
    p = make_problem(args.seed, args.scale, args.dim)
    _preload(args.worker)  # imports are not part of the measurement
    try:
        with open("/proc/self/clear_refs", "w") as handle:
            handle.write("5")  # reset the RSS high-water mark
        peak_source = "VmHWM"
    except OSError:
        peak_source = "ru_maxrss (includes problem set-up)"
    before_kb = status_kb("VmRSS")
    t0 = time.perf_counter()
    if args.worker == "ours":
        m_ap, rank1, how = run_ours(p, args.max_rank)
    else:
        m_ap, rank1, how = run_full_matrix(p, args.max_rank, args.chunk)
    seconds = time.perf_counter() - t0
    peak_kb = status_kb("VmHWM")
    if peak_source != "VmHWM":
        peak_kb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    print(json.dumps({
        "seconds": seconds, "peak_mb": (peak_kb - before_kb) / 1024, "mAP": m_ap,
        "rank1": rank1, "how": how, "peak_source": peak_source,
        "queries": len(p["q_pid"]), "gallery": len(p["g_pid"]),
        "actions": int(p["q_action"].max()) + 1,
    }))  # fmt: skip


def spawn(args: argparse.Namespace, which: str, chunk: int) -> dict[str, object]:
    return run_worker(__file__, which, ["--scale", str(args.scale), "--dim", str(args.dim),
                      "--seed", str(args.seed), "--chunk", str(chunk),
                      "--max-rank", str(args.max_rank)])  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scale", type=float, default=1.0, help="fraction of valid's size")
    parser.add_argument("--dim", type=int, default=512)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--max-rank", type=int, default=20)
    parser.add_argument("--chunk", type=int, default=0, help="full-matrix query chunk (0: auto)")
    parser.add_argument("--worker", choices=["ours", "full"], help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker:
        worker(args)
        return
    n_q = round(VALID["queries"] * args.scale)
    n_g = round(VALID["gallery"] * args.scale)
    chunk = args.chunk
    need, avail = n_q * n_g * BYTES_PER_PAIR, available_bytes()
    if chunk <= 0:
        chunk = n_q if need < 0.6 * avail else max(1, int(0.3 * avail / (n_g * BYTES_PER_PAIR)))
    ours = spawn(args, "ours", chunk)
    full = spawn(args, "full", chunk)
    mode = "full matrix" if chunk >= n_q else f"full matrix in chunks of {chunk} queries"
    print(f"problem: {ours['queries']} queries, {ours['gallery']} gallery, {ours['actions']} "
          f"actions, {args.dim}-d; one thread; memory available {avail / 2**30:.1f} GiB, "
          f"full matrix needs ~{need / 2**30:.1f} GiB -> {mode}")  # fmt: skip
    print(f"peak memory from {ours['peak_source']}; full-matrix distances by {full['how']}\n")
    print(f"| approach | time (s) | peak MB | speed-up | mAP | rank-1 |\n|{'---|' * 6}")
    for name, r in (("footreid per-action", ours), (f"official toolkit ({mode})", full)):
        speed = full["seconds"] / r["seconds"]
        print(f"| {name} | {r['seconds']:.3f} | {r['peak_mb']:.0f} | {speed:.1f}x | "
              f"{r['mAP']:.6f} | {r['rank1']:.6f} |")  # fmt: skip
    print(f"\n|mAP(footreid) - mAP(full matrix)| = {abs(ours['mAP'] - full['mAP']):.2e}")


if __name__ == "__main__":
    main()
