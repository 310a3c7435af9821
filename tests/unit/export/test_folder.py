"""Model folders: the files and fields written, identical features read back, clear refusals."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from tiny_checkpoint import BEST, TINY_SIZE, write_tiny_checkpoint

import footreid
from footreid.core.errors import ConfigError, WeightsError
from footreid.core.model_record import FOLDER, ModelRecord
from footreid.export import export_model_folder, load_model_folder
from footreid.export.folder import CONFIG_FILE, WEIGHTS_FILE
from footreid.models.checkpoint import read_checkpoint

pytest.importorskip("safetensors", reason="model folders need the 'hub' extra")


@pytest.fixture(scope="module")
def crops() -> list[np.ndarray]:
    rng = np.random.default_rng(1)
    return [rng.integers(0, 256, (80 + 7 * i, 35, 3), dtype=np.uint8) for i in range(4)]


def evaluation_doc(path: Path) -> Path:
    doc = {
        "schema": "footreid.evaluation/1",
        "methods": [
            {
                "name": "osnet",
                "split": "valid",
                "dataset_root": "snmot-reid",
                "mAP": 0.6123,
                "rank1": 0.5831,
                "num_queries": 274,
            },
        ],
    }
    path.write_text(json.dumps(doc))
    return path


def test_folder_holds_weights_config_and_card(trained_checkpoint, tmp_path) -> None:
    from safetensors.torch import load_file

    folder = export_model_folder(
        trained_checkpoint, tmp_path / "m", results=evaluation_doc(tmp_path / "r.json")
    )
    assert sorted(p.name for p in folder.path.iterdir()) == ["README.md", CONFIG_FILE, WEIGHTS_FILE]
    config = json.loads((folder.path / CONFIG_FILE).read_text())
    assert config == folder.config
    assert config["architecture"] == "osnet_x0_25" and config["input_size"] == list(TINY_SIZE)
    assert config["embed_dim"] == 512 and config["precision"] == "fp32"
    assert config["mean"] == [0.485, 0.456, 0.406] and config["std"] == [0.229, 0.224, 0.225]
    training = config["training"]
    assert training["data"] == "../shared/data/snmot-reid" and training["validation"] == BEST
    assert training["config"]["loss"]["triplet"]["margin"] == 0.3
    assert config["results"][0]["mAP"] == 0.6123
    weights = load_file(str(folder.path / WEIGHTS_FILE))
    assert not any(k.startswith("classifier.") for k in weights) and "fc.0.weight" in weights
    card = (folder.path / "README.md").read_text()
    for needle in ("61.23", "58.31", "274", "52.90", "snmot-reid", "triplet x0.5", "64x32"):
        assert needle in card, needle


def test_folder_loads_back_to_identical_features(trained_checkpoint, crops, tmp_path) -> None:
    export_model_folder(trained_checkpoint, tmp_path / "m")
    ours = footreid.load(tmp_path / "m", device="cpu", precision="fp32").embed(crops)
    theirs = footreid.load(trained_checkpoint, device="cpu", precision="fp32").embed(crops)
    assert np.array_equal(ours, theirs)
    loaded = load_model_folder(tmp_path / "m")
    assert tuple(loaded.input_size) == TINY_SIZE and loaded.checkpoint.endswith(WEIGHTS_FILE)
    # config.json holds the checkpoint's model record, read back whole
    recorded = read_checkpoint(trained_checkpoint).record
    assert loaded.record() == recorded
    config = json.loads((tmp_path / "m" / CONFIG_FILE).read_text())
    assert ModelRecord.from_record(config, FOLDER, "config.json") == recorded


def test_half_precision_folder_is_smaller_and_close(trained_checkpoint, crops, tmp_path) -> None:
    export_model_folder(trained_checkpoint, tmp_path / "full")
    half = export_model_folder(trained_checkpoint, tmp_path / "half", precision="fp16")
    assert half.config["precision"] == "fp16"
    size = (tmp_path / "half" / WEIGHTS_FILE).stat().st_size
    assert size < 0.6 * (tmp_path / "full" / WEIGHTS_FILE).stat().st_size
    ours = footreid.load(tmp_path / "half", device="cpu", precision="fp32").embed(crops)
    theirs = footreid.load(trained_checkpoint, device="cpu", precision="fp32").embed(crops)
    assert np.abs(ours - theirs).max() < 2e-2
    with pytest.raises(ConfigError, match="precision"):
        export_model_folder(trained_checkpoint, tmp_path / "x", precision="int8")


def test_bnneck_options_survive_the_round_trip(tmp_path, crops) -> None:
    ckpt = write_tiny_checkpoint(tmp_path / "bn.pt", neck="bnneck")
    folder = export_model_folder(ckpt, tmp_path / "m")
    assert folder.config["options"] == {"neck": "bnneck"}
    ours = footreid.load(tmp_path / "m", device="cpu", precision="fp32").embed(crops)
    assert np.array_equal(ours, footreid.load(ckpt, device="cpu", precision="fp32").embed(crops))


def test_broken_folders_are_refused_with_the_fix(trained_checkpoint, tmp_path) -> None:
    with pytest.raises(WeightsError, match="footreid export-model"):
        load_model_folder(tmp_path)
    folder = export_model_folder(trained_checkpoint, tmp_path / "m").path
    config = json.loads((folder / CONFIG_FILE).read_text())
    for edit, needle in (
        ({"mean": [0.5, 0.5, 0.5]}, "'mean'"),
        ({"format_version": 99}, "newer"),
        ({"format": "other"}, "'format'"),
        ({"embed_dim": 128}, "'embed_dim' 128 is not the embedding size"),
        ({"input_size": [64]}, r"config.json input_size: expected \[H, W\]"),
    ):
        (folder / CONFIG_FILE).write_text(json.dumps({**config, **edit}))
        with pytest.raises(WeightsError, match=needle):
            load_model_folder(folder)
    (folder / CONFIG_FILE).write_text(json.dumps(config))
    (folder / WEIGHTS_FILE).unlink()
    with pytest.raises(WeightsError, match=WEIGHTS_FILE):
        load_model_folder(folder)


def test_open_model_zoo_model_round_trips_through_a_folder(tmp_path, crops) -> None:
    size = (64, 32)  # the head's kernel follows the input size; small for speed
    ckpt = write_tiny_checkpoint(
        tmp_path / "omz.pt", name="omz_reid_0288", size=size, input_size=list(size)
    )
    folder = export_model_folder(ckpt, tmp_path / "m")
    assert folder.config["architecture"] == "omz_reid_0288"
    ours = footreid.load(tmp_path / "m", device="cpu", precision="fp32").embed(crops)
    assert ours.shape[1] == 256
    assert np.array_equal(ours, footreid.load(ckpt, device="cpu", precision="fp32").embed(crops))
