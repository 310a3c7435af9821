"""Reading weights files (containers, prefixes, safetensors) and the strict load."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch
from safetensors.torch import save_file

from footreid.core.errors import WeightsError
from footreid.models import create_model
from footreid.models.state_dict import load_state_dict_strict, read_state_dict


def osnet_state(seed: int = 1) -> dict[str, torch.Tensor]:
    with torch.random.fork_rng():
        torch.manual_seed(seed)
        return create_model("osnet_x0_25", num_classes=10).state_dict()


def test_read_state_dict_unwraps_and_strips(tmp_path: Path) -> None:
    state = {"a.weight": torch.ones(2), "b": torch.zeros(1)}
    path = tmp_path / "wrapped.pth.tar"
    torch.save({"state_dict": {f"module.{k}": v for k, v in state.items()}, "epoch": 3}, path)
    assert read_state_dict(path).keys() == state.keys()
    compiled = tmp_path / "compiled.pt"
    torch.save({"model": {f"module._orig_mod.{k}": v for k, v in state.items()}}, compiled)
    assert read_state_dict(compiled).keys() == state.keys()
    st = tmp_path / "w.safetensors"
    save_file(state, str(st))
    assert torch.equal(read_state_dict(st)["a.weight"], state["a.weight"])
    bad = tmp_path / "bad.pth"
    torch.save({"lr": 0.1}, bad)
    with pytest.raises(WeightsError, match="expected a state dict"):
        read_state_dict(bad)
    garbage = tmp_path / "garbage.pth"
    garbage.write_bytes(b"not a checkpoint")
    with pytest.raises(WeightsError, match="cannot be read"):
        read_state_dict(garbage)


def test_strict_load_allows_only_the_classifier_to_differ() -> None:
    model = create_model("osnet_x0_25", num_classes=5)
    state = osnet_state()  # classifier has 10 classes
    report = load_state_dict_strict(model, state, ("classifier.",), "ckpt")
    assert report.kept == ["classifier.bias", "classifier.weight"]
    assert torch.equal(model.conv5.conv.weight, state["conv5.conv.weight"])
    del state["conv5.bn.weight"]
    state["extra.weight"] = torch.ones(1)
    state["fc.0.weight"] = torch.ones(3, 3)
    with pytest.raises(WeightsError) as err:
        load_state_dict_strict(model, state, ("classifier.",), "ckpt")
    message = str(err.value)
    assert "1 missing (conv5.bn.weight)" in message and "1 unexpected (extra.weight)" in message
    assert "fc.0.weight (3, 3) vs (512, 128)" in message and "--pretrained none" in message
