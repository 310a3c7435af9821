"""The one checkpoint reader: loading and resuming refuse the same files, old files load."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch

from footreid.core.errors import TrainingError, WeightsError
from footreid.core.model_record import CHECKPOINT, ModelRecord
from footreid.models import create_model, load_trained, trained_input_size
from footreid.models.checkpoint import read_checkpoint
from footreid.train.checkpoint import load_checkpoint, model_entries, save_checkpoint


@pytest.fixture(scope="module")
def model() -> torch.nn.Module:
    torch.manual_seed(0)
    return create_model("osnet_x0_25", num_classes=3).eval()


def old_entries(model: torch.nn.Module, size: list[int]) -> dict:
    """A checkpoint's entries as footreid wrote them before the model record existed."""
    return {
        "format": "footreid-train",
        "version": 1,
        "model_name": model.model_name,
        "model_kwargs": dict(model.model_kwargs),
        "num_classes": 3,
        "input_size": size,
        "model_spec": model.spec.to_dict() | {"input_size": size},
        "model": model.state_dict(),
        "config": {"name": "run"},
        "epoch": 2,
    }


def test_a_checkpoint_of_an_earlier_version_loads_and_resumes(model, tmp_path: Path) -> None:
    path = tmp_path / "old.pt"
    torch.save(old_entries(model, [64, 32]), path)
    loaded, info = load_trained(path)
    assert loaded.spec.input_size == (64, 32) and info["epoch"] == 2
    assert trained_input_size(path) == (64, 32)
    assert load_checkpoint(path)["model_name"] == "osnet_x0_25"
    x = torch.rand(2, 3, 64, 32)
    with torch.no_grad():
        assert torch.equal(loaded(x), model(x))


def test_written_entries_are_the_record_and_read_back(model, tmp_path: Path) -> None:
    entries = model_entries(model, (64, 32), {"name": "run"})
    old = old_entries(model, [64, 32])
    assert set(entries) | {"epoch"} == set(old)
    assert all(entries[k] == old[k] for k in ("model_name", "model_kwargs", "input_size"))
    path = save_checkpoint(entries, tmp_path / "new.pt")
    ckpt = read_checkpoint(path)
    assert ckpt.record == ModelRecord.of(model, (64, 32)) and ckpt.num_classes == 3
    assert ModelRecord.from_record(entries, CHECKPOINT, "x") == ckpt.record


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"format": "other"}, "not a footreid training checkpoint .format 'other'"),
        ({"version": 99}, "checkpoint version 99, need 1"),
        ({"input_size": [64]}, r"input_size: expected \[H, W\]"),
        ({"num_classes": -1}, "num_classes -1 must be a count"),
        ({"model_kwargs": "x"}, "'model_kwargs' 'x' must be a mapping"),
    ],
)
def test_loading_and_resuming_refuse_the_same_files(model, tmp_path, change, message) -> None:
    path = tmp_path / "bad.pt"
    torch.save(old_entries(model, [64, 32]) | change, path)
    with pytest.raises(WeightsError, match=f"bad.pt: .*{message}|bad.pt {message}"):
        load_trained(path)
    with pytest.raises(WeightsError, match=message):
        trained_input_size(path)
    with pytest.raises(TrainingError, match=message):
        load_checkpoint(path)


def test_recorded_normalisation_must_be_the_models(model, tmp_path: Path) -> None:
    entries = old_entries(model, [64, 32])
    entries["model_spec"] = entries["model_spec"] | {"mean": [0.5, 0.5, 0.5]}
    torch.save(entries, tmp_path / "edited.pt")
    with pytest.raises(WeightsError, match="edited.pt: 'mean' .* is not the mean"):
        load_trained(tmp_path / "edited.pt")


def test_resuming_needs_the_format_entry_loading_does_not(model, tmp_path: Path) -> None:
    entries = {k: v for k, v in old_entries(model, [64, 32]).items() if k != "format"}
    torch.save(entries, tmp_path / "hand.pt")
    assert load_trained(tmp_path / "hand.pt")[0].spec.input_size == (64, 32)
    with pytest.raises(TrainingError, match="hand.pt: not a footreid training checkpoint"):
        load_checkpoint(tmp_path / "hand.pt")


def test_a_torchreid_file_is_weights_not_a_checkpoint(shared_dir: Path) -> None:
    weights = shared_dir / "weights" / "osnet_x0_25_market1501.pth"
    if not weights.is_file():
        pytest.skip(f"{weights} is absent")
    with pytest.raises(WeightsError, match="missing model_name.*use --pretrained"):
        read_checkpoint(weights)
    model = create_model("osnet_x0_25", pretrained=str(weights))  # the weights path still loads
    assert model.spec.embed_dim == 512
