"""INT8 post-training static quantization: NNCF + OpenVINO vs ONNX Runtime, one run.

Both quantizers get the same fp32 ONNX graph and the same calibration crops (300 of
``../shared/data/mot20-reid`` train, the test transform) and produce a static INT8
model (8-bit per-channel weights, 8-bit activations with ranges from the calibration):

* ``nncf + openvino``: ``nncf.quantize`` (default preset; the channel gates' products
  left in float, as ``footreid.embed.openvino`` does), run by OpenVINO with the
  remaining operations at bf16 where the CPU has it natively (fp32 elsewhere);
* ``onnxruntime``: ``quantize_static`` (QDQ, uint8 activations, int8 per-channel
  weights, MinMax calibration), run by ONNX Runtime's CPU provider.

Two measurements: speed of OSNet-AIN x1.0 256x128 (random weights, batch 32; the model
alone on ready tensors, images/s) and agreement of the real ``osnet_x0_25`` MSMT17
checkpoint with fp32 PyTorch on mot20-reid valid (least and mean cosine similarity of a
crop's embedding, mAP in points; one view, no flip TTA).

Run: ``OMP_NUM_THREADS=1 taskset -c 1 .venv/bin/python benchmarks/bench_int8.py --threads 1``
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import torch

sys.path.insert(0, str(Path(__file__).parent))
from _hardware import cpu_kind, quiet_process  # noqa: E402

SHARED = Path(__file__).resolve().parents[2] / "shared"
ROOT = SHARED / "data" / "mot20-reid"
WEIGHTS = SHARED / "weights" / "osnet_x0_25_msmt17.pth"


def quantizers(embed_model, calibration: list[np.ndarray], threads: int) -> dict:
    """name -> forward((N, 3, H, W) float32 array) -> (N, D) array, for both INT8 paths."""
    import nncf
    import onnxruntime as ort
    from onnxruntime.quantization import (
        CalibrationDataReader,
        QuantFormat,
        QuantType,
        quantize_static,
    )
    from onnxruntime.quantization.shape_inference import quant_pre_process

    from footreid.embed.convert import onnx_bytes
    from footreid.embed.openvino import KEEP_FLOAT, compile_model, read_model

    folder = Path(tempfile.mkdtemp())
    (folder / "fp32.onnx").write_bytes(onnx_bytes(embed_model))
    quantized = nncf.quantize(read_model(embed_model), nncf.Dataset(calibration),
                              subset_size=len(calibration),
                              ignored_scope=nncf.IgnoredScope(types=list(KEEP_FLOAT)))  # fmt: skip
    compiled = compile_model(quantized, "bf16" if _bf16() else "fp32", threads)

    class Reader(CalibrationDataReader):
        def __init__(self) -> None:
            self.items = iter(calibration)

        def get_next(self) -> dict | None:
            item = next(self.items, None)
            return None if item is None else {"images": item}

    quant_pre_process(str(folder / "fp32.onnx"), str(folder / "pre.onnx"))
    quantize_static(str(folder / "pre.onnx"), str(folder / "int8.onnx"), Reader(),
                    quant_format=QuantFormat.QDQ, activation_type=QuantType.QUInt8,
                    weight_type=QuantType.QInt8, per_channel=True)  # fmt: skip
    options = ort.SessionOptions()
    options.intra_op_num_threads = threads
    session = ort.InferenceSession(str(folder / "int8.onnx"), options,
                                   providers=["CPUExecutionProvider"])  # fmt: skip
    out = compiled.output(0)
    return {
        "nncf + openvino": lambda x: np.asarray(compiled(x)[out]),
        "onnxruntime": lambda x: session.run(None, {"images": x})[0],
    }


def _bf16() -> bool:
    from footreid.core.hardware import cpu_has_native_bf16

    return cpu_has_native_bf16()


def calibration_arrays(embed_model) -> list[np.ndarray]:
    from footreid.embed.extract import _calibration_crops
    from footreid.embed.openvino import calibration_batches

    return calibration_batches(embed_model, _calibration_crops(ROOT, "auto"))


def speed(threads: int) -> dict[str, float]:
    """Images/s of OSNet-AIN x1.0 on a ready batch of 32, best of three."""
    from footreid.embed import load_embed_model

    model = load_embed_model("osnet_ain_x1_0")
    runs = quantizers(model, calibration_arrays(model), threads)
    x = np.random.default_rng(0).standard_normal((32, 3, 256, 128)).astype(np.float32)
    rates = {}
    for name, forward in runs.items():
        forward(x)
        best = min(_timed(forward, x) for _ in range(3))
        rates[name] = 32 / best
    return rates


def _timed(forward, x) -> float:
    start = time.perf_counter()
    forward(x)
    return time.perf_counter() - start


def agreement(threads: int) -> dict[str, tuple[float, float, float]]:
    """(least cosine, mean cosine, mAP difference in points) of each INT8 path."""
    from footreid.data.soccernet import read_eval_split
    from footreid.data.transforms import normalize_batch
    from footreid.embed import load_embed_model
    from footreid.embed.batching import crop_loader, eval_transform

    model = load_embed_model("osnet_x0_25", pretrained=str(WEIGHTS))
    split = read_eval_split(ROOT, "valid")
    samples = [*split.query, *split.gallery]
    transform = eval_transform(model.input_size, model.mean, model.std)
    loader = crop_loader([s.path for s in samples], transform, 64, 0)
    x = torch.cat([normalize_batch(b, model.mean, model.std) for b in loader]).numpy()
    with torch.inference_mode():
        ref = _unit(model.model(torch.from_numpy(x)).numpy())
    ref_map = _map(ref, samples)
    out = {}
    for name, forward in quantizers(model, calibration_arrays(model), threads).items():
        got = _unit(np.concatenate([forward(x[i : i + 64]) for i in range(0, len(x), 64)]))
        cos = (got * ref).sum(axis=1)
        out[name] = (float(cos.min()), float(cos.mean()), 100 * (_map(got, samples) - ref_map))
    return out


def _unit(a: np.ndarray) -> np.ndarray:
    return a / np.maximum(np.linalg.norm(a, axis=1, keepdims=True), 1e-12)


def _map(features: np.ndarray, samples) -> float:
    from footreid.core.records import FeatureSet
    from footreid.evaluate.distances import feature_distances
    from footreid.evaluate.metrics import evaluate_distances

    fs = FeatureSet(
        features=features.astype(np.float32),
        bbox_idx=[s.bbox_idx for s in samples],
        action_idx=[s.action_idx for s in samples],
        person_uid=[s.person_uid or "" for s in samples],
        role=[s.role for s in samples],
        path=[str(s.path) for s in samples],
        clazz=[s.clazz or "" for s in samples],
        meta={},
    )
    return float(evaluate_distances(feature_distances(fs, "cosine")).mAP)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--threads", type=int, default=0, help="threads (0: torch's default)")
    args = parser.parse_args()
    if not (ROOT / "reid").is_dir() or not WEIGHTS.is_file():
        print(f"{ROOT} or {WEIGHTS} is absent: nothing to calibrate or compare on")
        return
    quiet_process(args.threads)
    threads = torch.get_num_threads()
    rates, parity = speed(threads), agreement(threads)
    print("\nINT8 static quantization, calibrated on 300 mot20-reid train crops")
    print(cpu_kind())
    print("\n| quantizer | OSNet-AIN x1.0 img/s | min cos | mean cos | dmAP pts (x0.25, mot20) |")
    print("|---|---:|---:|---:|---:|")
    for name, rate in rates.items():
        low, mean, dmap = parity[name]
        print(f"| {name} | {rate:.1f} | {low:.4f} | {mean:.4f} | {dmap:+.2f} |")


if __name__ == "__main__":
    main()
