"""The backend registry: one entry is all a new backend needs to be taken everywhere."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch

import footreid
from footreid.core.errors import ConfigError
from footreid.embed import EmbedOptions, auto, embed_split, load_embed_model, registry, resolve_plan
from footreid.embed.backends import Runner
from footreid.embed.registry import BackendEntry

FAKE = "fake-double"


def _fake_build(embed_model, plan, calibration=None) -> Runner:
    """PyTorch's fp32 forward, on the CPU: a backend that agrees with the reference."""
    net = embed_model.model.eval()

    def forward(x: torch.Tensor) -> torch.Tensor:
        with torch.inference_mode():
            return net(x).float()

    return Runner(plan.backend, plan.precision, forward, torch.device("cpu"))


@pytest.fixture
def fake_backend():
    """A backend registered by a test alone: no other file knows its name."""
    entry = registry.register(
        BackendEntry(FAKE, _fake_build, ("cpu",), ("fp32",), packages=("numpy",), speed_rank=-1)
    )
    yield entry
    registry.unregister(FAKE)


def test_the_registry_names_each_backend_once() -> None:
    assert registry.backend_names() == ("torch", "onnx", "openvino", "openvino-int8")
    assert registry.backend_choices()[-1] == registry.AUTO
    assert registry.runtime_name("torch", "onnx") == "onnx"  # torch cannot run an .onnx file
    assert registry.runtime_name("openvino", "onnx") == "openvino"
    assert registry.wants_calibration("auto") and registry.wants_calibration("openvino-int8")
    assert not registry.wants_calibration("onnx")
    assert registry.candidates("torch", "cuda") == ("torch",)
    assert registry.packages() == ("torch", "onnxruntime", "openvino", "nncf")
    with pytest.raises(ValueError, match="twice"):
        registry.register(registry.get_backend("onnx"))
    with pytest.raises(ConfigError, match="did you mean openvino"):
        registry.get_backend("openvno")


def test_the_plan_is_resolved_once_and_frozen(tiny_checkpoint) -> None:
    model = load_embed_model(tiny_checkpoint)
    plan = resolve_plan(model, EmbedOptions(False, 4, 0, "cpu", "fp32", backend="openvino-int8"))
    assert (plan.backend, plan.precision, plan.float_precision) == ("openvino-int8", "int8", "fp32")
    assert plan.input_size == model.input_size and plan.device == torch.device("cpu")
    with pytest.raises(AttributeError):
        plan.backend = "torch"  # type: ignore[misc]


def test_a_registered_backend_is_taken_by_embed_load_and_auto(
    fake_backend, tiny_root, tiny_checkpoint, tmp_path: Path, monkeypatch
) -> None:
    monkeypatch.setenv("FOOTREID_HOME", str(tmp_path))
    options = EmbedOptions(False, 8, 0, "cpu", "fp32", backend=FAKE)
    fs = embed_split(load_embed_model(tiny_checkpoint), tiny_root, "valid", options)
    ref = embed_split(
        load_embed_model(tiny_checkpoint),
        tiny_root,
        "valid",
        EmbedOptions(False, 8, 0, "cpu", "fp32"),
    )
    assert (fs.meta["backend"], fs.meta["precision"]) == (FAKE, "fp32")
    np.testing.assert_allclose(fs.features, ref.features, atol=1e-5)

    enc = footreid.load(
        tiny_checkpoint, backend=FAKE, device="cpu", precision="fp32", flip_tta=False
    )
    crops = [np.full((64, 32, 3), 127, dtype=np.uint8)] * 2
    assert enc.backend == FAKE and enc.embed(crops).shape == (2, 512)

    model = load_embed_model(tiny_checkpoint)
    seen: list[str] = []

    def seconds(runner: Runner, images: torch.Tensor, flip_tta: bool) -> float:
        seen.append(runner.name)
        return 0.0001 if runner.name == FAKE else 1.0

    monkeypatch.setattr(auto, "_seconds", seconds)
    plan = resolve_plan(model, EmbedOptions(False, 4, 0, "cpu", "fp32", backend="auto"))
    images = torch.randn(4, 3, 64, 32, generator=torch.Generator().manual_seed(0))
    assert auto.choose_backend(model, images, plan).name == FAKE
    assert FAKE in seen and "torch" in seen  # measured beside the others
    assert "numpy" in registry.packages()  # its package keys auto's cached decision
