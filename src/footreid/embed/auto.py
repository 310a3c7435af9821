"""``--backend auto``: the fastest backend that passed a parity check on this machine.

The rule, measured once per (weights, input size, batch, flip TTA, threads, CPU,
library versions) and cached:

1. Build every installed backend of :mod:`~footreid.embed.registry` that runs the model
   on its device (only ``torch`` on a GPU: nothing to measure there; INT8 only
   when training crops are there to calibrate it; a backend that cannot be built is
   skipped and logged with the reason).
2. Parity: embed up to 32 of the crops being embedded with each backend and with fp32
   PyTorch (fp32 ONNX Runtime for a ``.onnx`` source); a backend passes when every
   crop's cosine similarity to the reference is at least
   :data:`~footreid.embed.backends.MIN_COSINE` of its precision.
3. Speed: time the same crops (both views in one pass with flip TTA) after a warm-up,
   best of two.
4. Choose the fastest that passed; PyTorch always competes, so there is always one.

The decision is a JSON file ``$FOOTREID_HOME/embed/backend-<key>.json`` (default
``~/.cache/footreid``) holding every backend's speed and parity; the key hashes the
weights, the input size, the batch and TTA, the thread count, the CPU model and its
bf16/int8 flags, and the versions of torch, onnxruntime, openvino and nncf, so a change
of any re-measures. Delete the folder to re-measure.
"""

from __future__ import annotations

import hashlib
import importlib.metadata
import json
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import torch

from footreid.core.errors import FootreidError
from footreid.core.hardware import cpu_flags, cpu_model
from footreid.core.io import atomic_write_json
from footreid.core.log import get_logger
from footreid.embed.backends import MIN_COSINE, Runner, embed_views
from footreid.embed.model import EmbedModel
from footreid.embed.plan import EmbedPlan, plan_for
from footreid.embed.registry import build_runner, candidates, packages, runtime_name

log = get_logger(__name__)

PARITY_CROPS = 32
_CPU_FLAGS = ("avx512_bf16", "amx_bf16", "amx_int8", "avx512_vnni", "avx_vnni", "avx512f", "avx2")


def _version(package: str) -> str | None:
    try:
        return importlib.metadata.version(package)
    except importlib.metadata.PackageNotFoundError:
        return None


def decision_path(embed_model: EmbedModel, batch_size: int, flip_tta: bool, precision: str) -> Path:
    """The cache file of the decision for this model, batch and machine."""
    from footreid.embed.openvino import weights_sha256
    from footreid.models.weights import footreid_home

    flags = cpu_flags() or frozenset()
    key = json.dumps(
        {
            "weights": weights_sha256(embed_model),
            "input_size": list(embed_model.input_size),
            "batch": [int(batch_size), bool(flip_tta)],
            "precision": precision,
            "threads": torch.get_num_threads(),
            "cpu": [cpu_model(), sorted(f for f in _CPU_FLAGS if f in flags)],
            "versions": {p: _version(p) for p in packages()},
        },
        sort_keys=True,
    )
    digest = hashlib.sha256(key.encode()).hexdigest()[:20]
    return footreid_home() / "embed" / f"backend-{digest}.json"


def min_cosine(a: torch.Tensor, b: torch.Tensor) -> float:
    """Least row-wise cosine similarity of two (N, D) embedding matrices."""
    a = torch.nn.functional.normalize(a.float(), dim=1)
    b = torch.nn.functional.normalize(b.float(), dim=1)
    return float((a * b).sum(dim=1).min())


def _seconds(runner: Runner, images: torch.Tensor, flip_tta: bool) -> float:
    embed_views(runner, images, flip_tta)  # warm-up: first-call allocations, JIT
    best = float("inf")
    for _ in range(2):
        start = time.perf_counter()
        embed_views(runner, images, flip_tta)
        best = min(best, time.perf_counter() - start)
    return best


def _measure(
    embed_model: EmbedModel,
    images: torch.Tensor,
    calibration: Sequence[str | Path] | None,
    plan: EmbedPlan,
) -> tuple[dict[str, dict[str, Any]], dict[str, Runner]]:
    """Speed and parity of every backend that can be built here, and their runners."""
    reference = plan_for(plan, runtime_name("torch", plan.source_kind), "fp32")
    ref = build_runner(embed_model, reference).forward(images)
    results: dict[str, dict[str, Any]] = {}
    runners: dict[str, Runner] = {}
    for name in candidates(plan.source_kind, plan.device.type):
        try:
            runner = build_runner(embed_model, plan_for(plan, name), calibration)
        except (FootreidError, ImportError) as exc:
            log.info("auto backend: %s skipped (%s)", name, exc)
            results[name] = {"skipped": str(exc)}
            continue
        runners[name] = runner
        cosine = min_cosine(runner.forward(images), ref)
        seconds = _seconds(runner, images, plan.flip_tta)
        results[name] = {
            "precision": runner.precision,
            "min_cosine": round(cosine, 6),
            "passed": cosine >= MIN_COSINE[runner.precision],
            "crops_per_s": round(len(images) / seconds, 2),
        }
        log.info("auto backend: %s %s", name, results[name])
    return results, runners


def choose_backend(
    embed_model: EmbedModel,
    images: torch.Tensor | None,
    plan: EmbedPlan,
    calibration: Sequence[str | Path] | None = None,
) -> Runner:
    """The runner of the fastest backend that passed parity (cached decision).

    Args:
        embed_model: the model.
        images: (B, 3, H, W) float32 normalised crops of the data being embedded, one
            embedding batch (the parity check uses the first :data:`PARITY_CROPS`); None
            only where one backend runs on the plan's device (nothing to measure).
        plan: the ``auto`` plan (device, the float precision asked, flip TTA).
        calibration: training crop files for INT8 (None: INT8 does not compete).
    """
    names = candidates(plan.source_kind, plan.device.type)
    if len(names) < 2 or images is None:  # a GPU: only torch runs there
        if not names:
            raise FootreidError(f"no backend runs {plan.source} on {plan.device}")
        return build_runner(embed_model, plan_for(plan, names[0]), calibration)
    path = decision_path(embed_model, len(images), plan.flip_tta, plan.precision)
    if path.is_file():
        decision = json.loads(path.read_text())
        log.info("auto backend: %s (decided before, %s)", decision["backend"], path)
        return build_runner(embed_model, plan_for(plan, decision["backend"]), calibration)
    crops = images[:PARITY_CROPS]
    results, runners = _measure(embed_model, crops, calibration, plan)
    passed = {n: r for n, r in results.items() if r.get("passed")}
    if not passed:  # torch at fp32 is its own reference: only a broken model gets here
        raise FootreidError(f"{embed_model.name}: no backend agreed with fp32: {results}")
    best = max(passed, key=lambda n: passed[n]["crops_per_s"])
    decision = {"backend": best, "results": results, "measured_at": time.strftime("%F %T")}
    path.parent.mkdir(parents=True, exist_ok=True)
    atomic_write_json(path, decision)
    log.info("auto backend: %s is the fastest that passed parity (kept in %s)", best, path)
    return runners[best]
