"""Checkpoints: atomic writes, strict reads, and the resume config check."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch

from footreid.core.errors import TrainingError
from footreid.models import create_model, load_trained
from footreid.train.checkpoint import (
    check_resume_config,
    config_differences,
    load_checkpoint,
    load_model_state,
    model_entries,
    save_checkpoint,
)


def payload(num_classes: int = 3, seed: int = 0) -> dict:
    torch.manual_seed(seed)
    model = create_model("osnet_x0_25", num_classes=num_classes)
    return model_entries(model, (64, 32), {"name": "run", "train": {"seed": 0}}) | {"epoch": 1}


def test_round_trip_and_the_load_trained_contract(tmp_path: Path) -> None:
    path = save_checkpoint(payload(), tmp_path / "last.pt")
    ckpt = load_checkpoint(path)
    assert (ckpt["model_name"], ckpt["num_classes"], ckpt["input_size"]) == (
        "osnet_x0_25",
        3,
        [64, 32],
    )
    model, info = load_trained(path)
    assert model.spec.input_size == (64, 32) and info["epoch"] == 1
    assert torch.equal(model.state_dict()["conv1.conv.weight"], ckpt["model"]["conv1.conv.weight"])


def test_save_is_atomic_when_the_write_dies(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = save_checkpoint(payload(seed=0), tmp_path / "last.pt")
    good = path.read_bytes()

    def half_write(obj: object, f: object, *args: object, **kwargs: object) -> None:
        f.write(b"PK\x03\x04 truncated")  # type: ignore[attr-defined]
        raise OSError("disk full")

    monkeypatch.setattr(torch, "save", half_write)
    with pytest.raises(OSError, match="disk full"):
        save_checkpoint(payload(seed=1), path)
    assert path.read_bytes() == good
    assert [p.name for p in tmp_path.iterdir()] == ["last.pt"]  # the temporary file is gone


def test_save_refuses_a_payload_without_the_contract_keys(tmp_path: Path) -> None:
    with pytest.raises(AssertionError, match="lacks"):
        save_checkpoint({"model": {}}, tmp_path / "x.pt")


def test_load_errors_name_the_file(tmp_path: Path) -> None:
    with pytest.raises(TrainingError, match="not found"):
        load_checkpoint(tmp_path / "missing.pt")
    (tmp_path / "junk.pt").write_bytes(b"not a zip")
    with pytest.raises(TrainingError, match="junk.pt: cannot read"):
        load_checkpoint(tmp_path / "junk.pt")
    torch.save({"model": {}}, tmp_path / "other.pt")
    with pytest.raises(TrainingError, match="not a footreid training checkpoint"):
        load_checkpoint(tmp_path / "other.pt")
    save_checkpoint(payload() | {"version": 99}, tmp_path / "future.pt")
    with pytest.raises(TrainingError, match="version 99"):
        load_checkpoint(tmp_path / "future.pt")


def test_model_state_loads_strictly(tmp_path: Path) -> None:
    ckpt = payload(num_classes=3)
    model = create_model("osnet_x0_25", num_classes=5)
    with pytest.raises(TrainingError, match="do not fit osnet_x0_25"):
        load_model_state(model, ckpt, tmp_path / "last.pt")
    extra = dict(ckpt["model"]) | {"unexpected.weight": torch.zeros(1)}
    with pytest.raises(TrainingError, match="do not fit"):
        load_model_state(create_model("osnet_x0_25", num_classes=3), {"model": extra}, tmp_path)
    same = create_model("osnet_x0_25", num_classes=3)
    load_model_state(same, ckpt, tmp_path / "last.pt")
    assert torch.equal(same.classifier.weight, ckpt["model"]["classifier.weight"])


def test_resume_config_check_ignores_speed_settings(tmp_path: Path) -> None:
    saved = {"data": {"num_workers": 2, "batch_size": 32}, "train": {"threads": 0, "seed": 0}}
    faster = {"data": {"num_workers": 8, "batch_size": 32}, "train": {"threads": 4, "seed": 0}}
    assert config_differences(saved, faster) == []
    check_resume_config(saved, faster, tmp_path / "last.pt")
    other = {"data": {"num_workers": 2, "batch_size": 64}, "train": {"threads": 0, "seed": 1}}
    assert config_differences(saved, other) == ["data.batch_size", "train.seed"]
    with pytest.raises(TrainingError, match=r"data.batch_size \(32 -> 64\)"):
        check_resume_config(saved, other, tmp_path / "last.pt")
