"""``--backend auto``: the fastest backend that passed parity, decided once and cached."""

from __future__ import annotations

import json

import pytest
import torch

from footreid.core.errors import ConfigError
from footreid.embed import EmbedOptions, auto, load_embed_model, resolve_plan
from footreid.embed.backends import Runner

CPU = torch.device("cpu")


def fake_build(speeds: dict[str, float], wrong: set[str], built: list[str]):
    """A build_runner of the backends in ``speeds``; ``wrong`` ones give noise."""

    def build(embed_model, plan, calibration=None):
        name = plan.backend
        if name not in speeds:
            raise ConfigError(f"{name} is not installed here")
        built.append(name)
        net = embed_model.model.eval()

        def forward(x: torch.Tensor) -> torch.Tensor:
            with torch.inference_mode():
                out = net(x).float()
            return torch.randn_like(out) if name in wrong else out

        return Runner(name, "fp32", forward, CPU)

    return build


@pytest.fixture
def home(tmp_path, monkeypatch):
    monkeypatch.setenv("FOOTREID_HOME", str(tmp_path))
    return tmp_path


def test_fastest_backend_that_passed_parity_is_chosen_and_cached(
    tiny_checkpoint, home, monkeypatch
) -> None:
    model = load_embed_model(tiny_checkpoint)
    images = torch.randn(4, 3, 64, 32, generator=torch.Generator().manual_seed(0))
    built: list[str] = []
    speeds = {"torch": 0.03, "onnx": 0.001, "openvino": 0.01}  # onnx fastest but wrong
    monkeypatch.setattr(auto, "build_runner", fake_build(speeds, {"onnx"}, built))
    # seconds per pass as if measured: a busy CI machine's timings cannot reorder them
    monkeypatch.setattr(auto, "_seconds", lambda runner, images, flip_tta: speeds[runner.name])
    plan = resolve_plan(model, EmbedOptions(True, 4, 0, "cpu", "fp32", backend="auto"))
    runner = auto.choose_backend(model, images, plan)
    assert runner.name == "openvino"
    (path,) = (home / "embed").glob("backend-*.json")
    decision = json.loads(path.read_text())
    assert decision["backend"] == "openvino"
    assert decision["results"]["onnx"]["passed"] is False
    assert decision["results"]["torch"]["passed"] and decision["results"]["openvino"]["passed"]
    assert "not installed" in decision["results"]["openvino-int8"]["skipped"]
    built.clear()
    assert auto.choose_backend(model, images, plan).name == "openvino"
    assert built == ["openvino"]  # the cached decision: nothing else built or measured


def test_decision_key_changes_with_threads_batch_and_weights(
    tiny_checkpoint, checkpoint_factory, tmp_path, home
) -> None:
    model = load_embed_model(tiny_checkpoint)
    other = load_embed_model(checkpoint_factory(tmp_path / "b.pt", seed=1))
    base = auto.decision_path(model, 32, True, "auto")
    assert base == auto.decision_path(model, 32, True, "auto")
    assert base != auto.decision_path(model, 64, True, "auto")
    assert base != auto.decision_path(model, 32, False, "auto")
    assert base != auto.decision_path(other, 32, True, "auto")
    threads = torch.get_num_threads()
    try:
        torch.set_num_threads(threads + 1)
        assert base != auto.decision_path(model, 32, True, "auto")
    finally:
        torch.set_num_threads(threads)
    assert base.parent == home / "embed"
