"""OpenVINO on the CPU: bf16 where the CPU computes it natively, fp32 elsewhere, and INT8.

* ``openvino``: the model's ONNX graph (:mod:`.convert`, or the ``.onnx`` file itself)
  compiled for the CPU with ``INFERENCE_PRECISION_HINT`` bf16 where the CPU has AVX-512
  BF16 or AMX (the one rule of :func:`footreid.core.hardware.resolve_precision`), f32
  elsewhere.
* ``openvino-int8``: post-training static quantization with NNCF: 8-bit weights
  (per channel) and activations (ranges measured on calibration crops -- training
  crops, never the crops being evaluated), the remaining operations at the same
  precision as ``openvino``. Why NNCF + OpenVINO rather than ONNX Runtime's static
  quantizer: on the AVX-512 VNNI + BF16 CPU we measured (``benchmarks/bench_int8.py``,
  one thread) the OpenVINO INT8 graph ran OSNet-AIN x1.0 at 94.9 img/s against 50.5 for
  the ONNX Runtime QDQ graph calibrated on the same crops (1.9x), at a similar mean
  agreement with fp32 (cosine 0.988 vs 0.991; least 0.94 vs 0.97, osnet_x0_25 MSMT17 on
  mot20-reid valid). Neither keeps mAP within 0.3 points of fp32 on mot20-reid valid
  with one view (+1.6 and -0.8): INT8 is offered by name, and ``auto`` takes it only
  where it passes its parity gate on the model at hand.

A quantized model is kept in ``$FOOTREID_HOME/embed/int8-<key>.xml`` (+ ``.bin``), keyed
by the weights, input size, calibration crops and library versions, so quantizing
(~10 s) happens once per model and machine. openvino and nncf are imported here only
(extra ``openvino``).
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import torch

from footreid.core.errors import ConfigError, MissingDependencyError
from footreid.core.log import get_logger
from footreid.embed.backends import Runner
from footreid.embed.model import EmbedModel

if TYPE_CHECKING:
    from footreid.embed.plan import EmbedPlan

log = get_logger(__name__)

CALIBRATION_CROPS = 300
"""Calibration crops of INT8 quantization (NNCF's default subset size)."""


KEEP_FLOAT = ("Multiply",)
"""Operation types left unquantized: the products of OSNet's channel gates (features x
sigmoid weights). Quantizing them cost most of INT8's error on real crops (osnet_x0_25
MSMT17, mot20-reid valid: least cosine to fp32 0.69 -> 0.94, mean 0.949 -> 0.989) for
almost no time (an element-wise product)."""


def _openvino() -> Any:
    try:
        import openvino
    except ImportError:
        raise MissingDependencyError("openvino", "openvino") from None
    return openvino


def read_model(embed_model: EmbedModel) -> Any:
    """The ``openvino.Model`` of an embedding model (its ONNX graph, or its ``.onnx`` file)."""
    ov = _openvino()
    if embed_model.backend == "onnx":
        return ov.Core().read_model(str(embed_model.checkpoint))
    from footreid.embed.convert import onnx_bytes

    return ov.Core().read_model(onnx_bytes(embed_model), b"")


def compile_model(model: Any, precision: str, threads: int) -> Any:
    """A CPU ``CompiledModel``: ``precision`` bf16 or fp32 (of the non-int8 operations)."""
    ov = _openvino()
    config = {
        "INFERENCE_PRECISION_HINT": "bf16" if precision == "bf16" else "f32",
        "PERFORMANCE_HINT": "LATENCY",
        "INFERENCE_NUM_THREADS": max(1, int(threads)),
    }
    return ov.Core().compile_model(model, "CPU", config)


class OpenVinoForward:
    """``forward(x)``: (N, 3, H, W) float32 normalised -> (N, D) float32, on the CPU."""

    def __init__(self, compiled: Any) -> None:
        self.compiled = compiled
        self.output = compiled.output(0)

    def __call__(self, x: torch.Tensor) -> torch.Tensor:
        images = np.ascontiguousarray(x.detach().float().cpu().numpy())
        return torch.from_numpy(np.array(self.compiled(images)[self.output], copy=True))


def weights_sha256(embed_model: EmbedModel) -> str:
    """Hex SHA-256 of the weights: of the file for ONNX, of every tensor otherwise."""
    if embed_model.backend == "onnx":
        return str(embed_model.checkpoint_sha256)
    digest = hashlib.sha256()
    for name, tensor in embed_model.model.state_dict().items():
        digest.update(name.encode())
        digest.update(
            tensor.detach().cpu().contiguous().reshape(-1).view(torch.uint8).numpy().tobytes()
        )
    return digest.hexdigest()


def int8_path(embed_model: EmbedModel, calibration: Sequence[str | Path]) -> Path:
    """Where the INT8 model of these weights and calibration crops is kept."""
    from footreid.models.weights import footreid_home

    ov = _openvino()
    import nncf

    key = json.dumps(
        {
            "weights": weights_sha256(embed_model),
            "input_size": list(embed_model.input_size),
            "calibration": sorted(str(Path(p).resolve()) for p in calibration),
            "versions": [ov.__version__, nncf.__version__],
        },
        sort_keys=True,
    )
    return footreid_home() / "embed" / f"int8-{hashlib.sha256(key.encode()).hexdigest()[:20]}.xml"


def calibration_batches(embed_model: EmbedModel, paths: Sequence[str | Path]) -> list[np.ndarray]:
    """One (1, 3, H, W) float32 normalised array per calibration crop (test transform)."""
    from footreid.data.images import load_image
    from footreid.data.transforms import normalize_batch
    from footreid.embed.batching import eval_transform

    transform = eval_transform(embed_model.input_size, embed_model.mean, embed_model.std)
    out = []
    for path in paths:
        pixels = transform.pixels(load_image(path, transform.size)).unsqueeze(0)
        out.append(normalize_batch(pixels, embed_model.mean, embed_model.std).numpy())
    return out


def quantize_int8(embed_model: EmbedModel, calibration: Sequence[str | Path]) -> Any:
    """The INT8 ``openvino.Model``: read from the cache, or quantized with NNCF and kept.

    Args:
        embed_model: the fp32 model.
        calibration: crop files whose activation ranges set the quantization (training
            crops; up to :data:`CALIBRATION_CROPS` are used).
    """
    ov = _openvino()
    try:
        import nncf
    except ImportError:
        raise MissingDependencyError("nncf", "openvino") from None
    calibration = list(calibration)[:CALIBRATION_CROPS]
    path = int8_path(embed_model, calibration)
    if path.is_file() and path.with_suffix(".bin").is_file():
        log.info("INT8 model of %s from %s", embed_model.name, path)
        return ov.Core().read_model(str(path))
    data = nncf.Dataset(calibration_batches(embed_model, calibration))
    log.info("quantizing %s to INT8 on %d calibration crops", embed_model.name, len(calibration))
    quantized = nncf.quantize(
        read_model(embed_model),
        data,
        subset_size=len(calibration),
        ignored_scope=nncf.IgnoredScope(types=list(KEEP_FLOAT)),
    )
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.stem + ".tmp.xml")
    ov.save_model(quantized, str(tmp), compress_to_fp16=False)
    tmp.with_suffix(".bin").replace(path.with_suffix(".bin"))
    tmp.replace(path)
    log.info("INT8 model kept at %s", path)
    return quantized


def openvino_runner(
    embed_model: EmbedModel, plan: EmbedPlan, calibration: Sequence[str | Path] | None = None
) -> Runner:
    """OpenVINO on the CPU at ``plan.float_precision``; INT8 where ``plan.precision`` is int8.

    Raises:
        ConfigError: INT8 without calibration crops.
        MissingDependencyError: openvino or nncf is not installed (extra ``openvino``).
    """
    if plan.precision == "int8":
        if not calibration:
            raise ConfigError(
                f"backend {plan.backend} needs calibration crops: embed a dataset that has a "
                "train split (its crops calibrate the quantization), or choose another backend"
            )
        model = quantize_int8(embed_model, calibration)
    else:
        model = read_model(embed_model)
    compiled = compile_model(model, plan.float_precision, torch.get_num_threads())
    return Runner(plan.backend, plan.precision, OpenVinoForward(compiled), torch.device("cpu"))
