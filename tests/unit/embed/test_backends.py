"""Backends: names and precisions, each installed backend against fp32 PyTorch, flip TTA."""

from __future__ import annotations

import importlib.util

import numpy as np
import pytest
import torch

from footreid.core.errors import ConfigError, WeightsError
from footreid.embed import EmbedOptions, extract_features, load_embed_model, resolve_plan
from footreid.embed.backends import MIN_COSINE, embed_views
from footreid.embed.plan import backend_precisions
from footreid.embed.registry import build_runner as build_plan_runner
from footreid.embed.registry import runtime_name

CPU = torch.device("cpu")
HAS_ORT = importlib.util.find_spec("onnxruntime") is not None
HAS_OV = importlib.util.find_spec("openvino") is not None and importlib.util.find_spec("nncf")
needs_ort = pytest.mark.skipif(not HAS_ORT, reason="onnxruntime is not installed ('onnx' extra)")
needs_ov = pytest.mark.skipif(not HAS_OV, reason="openvino/nncf not installed ('openvino' extra)")


@pytest.fixture(scope="module")
def tiny_images() -> torch.Tensor:
    return torch.randn(6, 3, 64, 32, generator=torch.Generator().manual_seed(0))


def build_runner(model, name, precision="auto", calibration=None):
    """The runner of backend ``name`` on the CPU at ``precision``, through its plan."""
    options = EmbedOptions(device="cpu", precision=precision, backend=name)
    return build_plan_runner(model, resolve_plan(model, options), calibration)


def backend_precision(name: str, precision: str, device: torch.device) -> str:
    """What features record for backend ``name`` asked ``precision`` on ``device``."""
    return backend_precisions(name, precision, device)[0]


def _cosines(a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    return (torch.nn.functional.normalize(a, dim=1) * torch.nn.functional.normalize(b, dim=1)).sum(
        1
    )


def test_unknown_backend_names_the_closest(tiny_checkpoint) -> None:
    model = load_embed_model(tiny_checkpoint)
    with pytest.raises(ConfigError, match="openvino"):
        runtime_name("openvno", model.backend)
    assert runtime_name("auto", model.backend) == "auto"


def test_precision_each_backend_runs_at() -> None:
    assert backend_precision("onnx", "bf16", CPU) == "fp32"  # ONNX Runtime: fp32 graph
    assert backend_precision("openvino", "fp32", CPU) == "fp32"
    assert backend_precision("openvino-int8", "auto", CPU) == "int8"
    with pytest.raises(ConfigError, match="fp16 is for CUDA"):
        backend_precision("openvino", "fp16", CPU)
    with pytest.raises(ConfigError, match="runs on the CPU"):
        backend_precision("onnx", "fp32", torch.device("cuda"))


def test_flip_tta_averages_both_views_of_one_pass(tiny_checkpoint, tiny_images) -> None:
    runner = build_runner(load_embed_model(tiny_checkpoint), "torch", "fp32")
    calls = []
    forward = runner.forward
    runner.forward = lambda x: calls.append(len(x)) or forward(x)
    got = embed_views(runner, tiny_images, flip_tta=True)
    want = forward(tiny_images) + forward(torch.flip(tiny_images, dims=[3]))
    assert calls == [12]  # one pass of both views
    torch.testing.assert_close(got, torch.nn.functional.normalize(want, dim=1), atol=1e-5, rtol=0)


@pytest.mark.parametrize(
    ("name", "precision"),
    [
        pytest.param("onnx", "fp32", marks=needs_ort),
        pytest.param("openvino", "fp32", marks=needs_ov),
        pytest.param("openvino", "bf16", marks=needs_ov),
    ],
)
def test_backend_agrees_with_fp32_torch(tiny_checkpoint, tiny_images, name, precision) -> None:
    from footreid.core.hardware import cpu_has_native_bf16

    if precision == "bf16" and not cpu_has_native_bf16():
        pytest.skip("no native bf16 on this CPU")
    model = load_embed_model(tiny_checkpoint)
    ref = build_runner(model, "torch", "fp32").forward(tiny_images)
    runner = build_runner(model, name, precision)
    assert (runner.name, runner.precision) == (name, precision)
    out = runner.forward(tiny_images)
    assert out.shape == ref.shape and out.dtype == torch.float32
    assert _cosines(out, ref).min() >= MIN_COSINE[precision]


@needs_ov
def test_int8_needs_calibration_crops_and_keeps_its_model(
    tiny_root, tiny_checkpoint, tiny_images, tmp_path, monkeypatch
) -> None:
    from footreid.data.soccernet import read_train
    from footreid.embed import openvino

    monkeypatch.setenv("FOOTREID_HOME", str(tmp_path))
    model = load_embed_model(tiny_checkpoint)
    with pytest.raises(ConfigError, match="calibration crops"):
        build_runner(model, "openvino-int8")
    crops = [s.path for s in read_train(tiny_root)[:16]]
    runner = build_runner(model, "openvino-int8", calibration=crops)
    kept = openvino.int8_path(model, crops)
    assert runner.precision == "int8" and kept.is_file() and kept.with_suffix(".bin").is_file()
    out = runner.forward(tiny_images)
    assert out.shape == (6, 512) and torch.isfinite(out).all()
    stamp = kept.stat().st_mtime_ns
    build_runner(model, "openvino-int8", calibration=crops)  # read back, not re-quantized
    assert kept.stat().st_mtime_ns == stamp


@needs_ov
def test_extract_features_records_the_backend(tiny_root, tiny_checkpoint) -> None:
    from footreid.embed import embed_split

    options = EmbedOptions(False, 32, 0, "cpu", "fp32", backend="openvino")
    fs = embed_split(load_embed_model(tiny_checkpoint), tiny_root, "valid", options)
    ref = embed_split(
        load_embed_model(tiny_checkpoint),
        tiny_root,
        "valid",
        EmbedOptions(False, 32, 0, "cpu", "fp32"),
    )
    assert (fs.meta["backend"], fs.meta["precision"]) == ("openvino", "fp32")
    assert ref.meta["backend"] == "torch"
    assert (fs.features * ref.features).sum(axis=1).min() >= MIN_COSINE["fp32"]


def test_empty_crop_list_gives_an_empty_matrix(tiny_checkpoint) -> None:
    model = load_embed_model(tiny_checkpoint)
    out = extract_features(model, [], EmbedOptions(False, 4, 0, "cpu", "fp32"))
    assert out.shape == (0, 512) and out.dtype == np.float32


@needs_ort
def test_an_onnx_source_runs_on_onnx_runtime_by_default(tiny_checkpoint) -> None:
    from footreid.embed.convert import onnx_bytes

    model = load_embed_model(tiny_checkpoint)
    assert len(onnx_bytes(model)) > 1000
    model.backend = "onnx"
    assert runtime_name("torch", model.backend) == "onnx"
    with pytest.raises(WeightsError, match="already an ONNX file"):
        onnx_bytes(model)
