"""Training throughput: footreid's engine vs torchreid's, OSNet-AIN x1.0, 256x128, batch 32, CPU.

Two measurements, each engine with its own OSNet-AIN x1.0 (same architecture: footreid's
keeps torchreid's layer names), the same loss (label-smoothed cross-entropy + batch-hard
triplet, margin 0.3, weights 0.5/0.5) and Adam (lr 3e-4, weight decay 5e-4):

* ``engine``: images/s of whole training steps (forward, losses, backward, optimiser) over
  the same in-memory P x K batches (8 identities x 4) -- footreid's ``train_one_epoch``
  vs torchreid's ``ImageTripletEngine.train`` (its loop, ``forward_backward`` and meters).
  The two engines alternate in rounds (A B A B ...) so that load from other processes
  on a shared machine hits both alike; the table gives the median and the spread.
  Where the CPU computes bf16 natively (AVX-512 BF16 / AMX), two more rows train ours
  the way ``train.precision: auto`` does there (bf16 autocast), in the default NCHW
  layout and with ``train.channels_last: true`` (NHWC model and batches). torchreid's
  engine has no bf16 on the CPU, so its row stays fp32. The FLOP share counts a step as
  3x the forward.
* ``data``: images/s of decoding + augmenting synthetic PNG crops in one process
  (resize, flip, pad + crop, random erasing, normalise) -- footreid's ``TrainTransform``
  vs torchreid's ``build_transforms`` -- the CPU work a loader worker does per image.

Run: ``.venv/bin/python benchmarks/bench_train.py`` (``--steps 3 --rounds 2`` for a
quick look; ``--threads N`` sets torch's intra-op threads, default: torch's choice).
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
import warnings
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).parent))
from _hardware import cpu_kind, has_native_bf16, matmul_limit, model_gflop  # noqa: E402

SIZE = (256, 128)
BATCH, K = 32, 4


def make_batches(n: int, num_classes: int, seed: int) -> list[tuple[torch.Tensor, torch.Tensor]]:
    """``n`` P x K batches of random normalised images with their labels."""
    g = torch.Generator().manual_seed(seed)
    batches = []
    for _ in range(n):
        ids = torch.randperm(num_classes, generator=g)[: BATCH // K]
        labels = ids.repeat_interleave(K)
        images = torch.randn((BATCH, 3, *SIZE), generator=g)
        batches.append((images, labels))
    return batches


def ours_runner(num_classes: int, precision: str = "fp32", nhwc: bool = False):
    """A closure timing footreid's ``train_one_epoch`` over given batches.

    ``precision`` bf16: autocast bf16 (``train.precision: auto`` on a CPU with native
    bf16); ``nhwc``: the model and batches in channels-last (``train.channels_last``).
    """
    from footreid.core.config import OptimConfig
    from footreid.models import create_model
    from footreid.train.loop import StepOptions, train_one_epoch
    from footreid.train.objectives import build_objective
    from footreid.train.optim import LRSchedule, build_optimizer

    torch.manual_seed(0)
    model = create_model("osnet_ain_x1_0", num_classes=num_classes)
    if nhwc:
        model = model.to(memory_format=torch.channels_last)
    step = StepOptions(precision=precision, channels_last=nhwc)
    objective = build_objective(
        {"ce": {"weight": 0.5, "label_smoothing": 0.1}, "triplet": {"weight": 0.5, "margin": 0.3}}
    )
    optim_cfg = OptimConfig(name="adam", weight_decay=5e-4, decay_norm_bias=True)
    optimizer = build_optimizer(model, optim_cfg, lr=3e-4)
    schedule = LRSchedule(optim_cfg, epochs=60)

    def run(batches: list[tuple[torch.Tensor, torch.Tensor]]) -> float:
        loader = [(x, y, torch.arange(len(y))) for x, y in batches]
        start = time.perf_counter()
        train_one_epoch(model, loader, objective, optimizer, schedule, 0, step)
        return time.perf_counter() - start

    return run


class _StubDataManager:
    """What torchreid's Engine reads from a data manager: loaders and class count."""

    def __init__(self, num_classes: int) -> None:
        self.train_loader: list[dict[str, torch.Tensor]] = []
        self.test_loader = None
        self.num_train_pids = num_classes


def torchreid_runner(num_classes: int):
    """A closure timing torchreid's ``ImageTripletEngine.train`` over given batches."""
    import torchreid

    torch.manual_seed(0)
    model = torchreid.models.build_model(
        "osnet_ain_x1_0", num_classes=num_classes, loss="triplet", pretrained=False
    )
    optimizer = torchreid.optim.build_optimizer(model, optim="adam", lr=3e-4, weight_decay=5e-4)
    manager = _StubDataManager(num_classes)
    engine = torchreid.engine.ImageTripletEngine(
        manager, model, optimizer, margin=0.3, weight_t=0.5, weight_x=0.5, use_gpu=False
    )
    engine.max_epoch, engine.epoch = 1, 0

    def run(batches: list[tuple[torch.Tensor, torch.Tensor]]) -> float:
        engine.train_loader = [{"img": x, "pid": y} for x, y in batches]
        start = time.perf_counter()
        engine.train(print_freq=10**9)
        return time.perf_counter() - start

    return run


def bench_engines(steps: int, rounds: int, num_classes: int = 200) -> dict[str, list[float]]:
    """Images/s per round for each engine (after one warm-up step each)."""
    runners = {"torchreid": torchreid_runner(num_classes), "footreid": ours_runner(num_classes)}
    if has_native_bf16():
        runners["footreid bf16"] = ours_runner(num_classes, "bf16")
        runners["footreid bf16 NHWC"] = ours_runner(num_classes, "bf16", nhwc=True)
    warm = make_batches(1, num_classes, seed=99)
    for run in runners.values():
        run(warm)
    rates: dict[str, list[float]] = {name: [] for name in runners}
    for r in range(rounds):
        batches = make_batches(steps, num_classes, seed=r)
        order = list(runners) if r % 2 == 0 else list(reversed(runners))
        for name in order:
            seconds = runners[name](batches)
            rates[name].append(steps * BATCH / seconds)
            print(f"  round {r + 1}/{rounds} {name:18s} {rates[name][-1]:6.2f} img/s", flush=True)
    return rates


def bench_data(n_images: int) -> dict[str, float]:
    """Decode + augment images/s of both pipelines on synthetic PNG crops."""
    from torchreid.reid.data.transforms import build_transforms

    from footreid.core.config import AugmentConfig
    from footreid.data.images import load_image
    from footreid.data.soccernet import read_train
    from footreid.data.synthetic import generate
    from footreid.data.transforms import build_train_transform

    with tempfile.TemporaryDirectory() as tmp:
        root = generate(Path(tmp) / "tiny", "tiny", seed=0)
        paths = [s.path for s in read_train(root)][:n_images]
        ours = build_train_transform(
            SIZE,
            (0.485, 0.456, 0.406),
            (0.229, 0.224, 0.225),
            AugmentConfig(hflip=0.5, crop=0.5, pad=10, erase=0.5),
        )
        theirs, _ = build_transforms(*SIZE, transforms=["random_flip", "random_crop",
                                                        "random_erase"])  # fmt: skip
        g = torch.Generator().manual_seed(0)
        out = {}
        for name, fn in (("footreid", lambda im: ours(im, g)), ("torchreid", theirs)):
            start = time.perf_counter()
            for path in paths:
                fn(load_image(path))
            out[name] = len(paths) / (time.perf_counter() - start)
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=6, help="timed steps per round")
    parser.add_argument("--rounds", type=int, default=4, help="alternating rounds")
    parser.add_argument("--threads", type=int, default=0, help="torch threads (0: default)")
    parser.add_argument("--data-images", type=int, default=300, help="crops for the data test")
    args = parser.parse_args()
    try:
        import torchreid  # noqa: F401
    except ImportError:
        print("torchreid is not installed (pip install 'footreid[bench]'): no peer to compare")
        sys.exit(0)
    warnings.filterwarnings("ignore")
    if args.threads:
        torch.set_num_threads(args.threads)
    print(f"OSNet-AIN x1.0, {SIZE[0]}x{SIZE[1]}, batch {BATCH} (P={BATCH // K} x K={K}), CPU")
    print(cpu_kind())
    rates = bench_engines(args.steps, args.rounds)
    data = bench_data(args.data_images)
    print_tables(rates, data)


def print_tables(rates: dict[str, list[float]], data: dict[str, float]) -> None:
    """The engine table (img/s, ratio, FLOP share) and the data table."""
    from footreid.models import create_model

    gflop = 3 * model_gflop(create_model("osnet_ain_x1_0", num_classes=0), SIZE)
    limits = {"fp32": matmul_limit(torch.float32)}
    if has_native_bf16():
        limits["bf16"] = matmul_limit(torch.bfloat16)
    print("\nFLOP limit (large matrix product, GFLOP/s): "
          + ", ".join(f"{k} {v:.0f}" for k, v in limits.items())
          + f"; a training step is ~3x the forward: {gflop:.2f} GFLOP/img")  # fmt: skip
    peer = statistics.median(rates["torchreid"])
    print("\n| engine | img/s (median) | min - max | vs torchreid | of FLOP limit |")
    print("|---|---:|---:|---:|---:|")
    for name, values in rates.items():
        med, kind = statistics.median(values), "bf16" if "bf16" in name else "fp32"
        label = {"torchreid": "torchreid ImageTripletEngine fp32",
                 "footreid": "footreid train_one_epoch fp32",
                 "footreid bf16": "footreid bf16 (precision: auto)",
                 "footreid bf16 NHWC": "footreid bf16 + channels_last: true"}[name]  # fmt: skip
        print(f"| {label} | {med:.2f} | {min(values):.2f} - {max(values):.2f} | "
              f"{med / peer:.2f}x | {100 * med * gflop / limits[kind]:.0f} % {kind} |")  # fmt: skip
    print("\n| data (decode + augment, one process) | img/s |")
    print("|---|---:|")
    for name, rate in data.items():
        print(f"| {name} | {rate:.1f} |")


if __name__ == "__main__":
    main()
