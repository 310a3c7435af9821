"""The quickstart's pieces: recipes, local-only pretrained weights, reuse of finished runs."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

import footreid.models.weights as weights_module
from footreid.core.config import load_config
from footreid.core.errors import ConfigError, TrainingError
from footreid.experiment.training import check_same_config
from footreid.quickstart import (
    MODELS,
    QuickstartOptions,
    _resolve_config,
    find_recipes,
    local_weights,
)


@pytest.fixture
def empty_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """An empty ``$FOOTREID_HOME``; any download attempt fails the test."""
    monkeypatch.setenv("FOOTREID_HOME", str(tmp_path / "home"))
    monkeypatch.delenv("FOOTREID_OFFLINE", raising=False)

    def no_download(*args, **kwargs):
        raise AssertionError("the quickstart must never download weights")

    monkeypatch.setattr(weights_module, "_download", no_download)
    return tmp_path / "home"


def test_recipes_are_found_in_the_source_tree_and_load() -> None:
    folder = find_recipes()
    assert folder.name == "recipes" and folder.parent.name == "configs"
    names = [load_config(folder / m.recipe).model.name for m in MODELS]
    assert names == ["osnet_ain_x0_25", "resnet50", "vit_tiny_lora"]
    for m in MODELS:
        config = load_config(folder / m.recipe)
        assert config.val.split != "test" and config.data.num_workers == 0


def test_missing_recipes_name_the_fix(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="--recipes DIR"):
        find_recipes(tmp_path)


def test_no_local_weights_means_scratch_without_a_download(empty_home: Path) -> None:
    config = load_config(find_recipes() / MODELS[0].recipe)
    assert config.model.pretrained == "imagenet"
    assert local_weights(config) is None
    assert "FOOTREID_OFFLINE" not in os.environ  # the probe restores the environment


def test_scratch_vit_trains_whole_and_says_so(empty_home: Path, tmp_path: Path) -> None:
    options = QuickstartOptions(out=tmp_path / "qs")
    config, note = _resolve_config(MODELS[2], find_recipes(), tmp_path / "data", options)
    assert config.model.options["lora"] is False and config.model.pretrained == "none"
    assert "from scratch" in note and "lora=false" in note
    assert config.run_dir == (tmp_path / "qs" / "train" / "vit_lora").resolve()
    assert config.data.root == str((tmp_path / "data").resolve())


@pytest.mark.shared
def test_cached_weights_are_used(empty_home: Path, shared_dir: Path, tmp_path: Path) -> None:
    source = shared_dir / "weights" / "osnet_ain_x0_25_imagenet.pyth"
    if not source.is_file():
        pytest.skip(f"{source} is absent")
    (empty_home / "weights").mkdir(parents=True)
    shutil.copy(source, empty_home / "weights" / "osnet_ain_x0_25_imagenet.pth")
    options = QuickstartOptions(out=tmp_path / "qs")
    config, note = _resolve_config(MODELS[0], find_recipes(), tmp_path / "data", options)
    assert config.model.pretrained == "imagenet" and note == "pretrained (imagenet)"
    options = QuickstartOptions(out=tmp_path / "qs", pretrained="none")
    config, note = _resolve_config(MODELS[0], find_recipes(), tmp_path / "data", options)
    assert config.model.pretrained == "none" and "--pretrained none" in note


def test_a_run_trained_with_another_recipe_is_not_reused(empty_home: Path, tmp_path: Path) -> None:
    from footreid.core.config import save_config

    options = QuickstartOptions(out=tmp_path / "qs")
    config, _ = _resolve_config(MODELS[2], find_recipes(), tmp_path / "data", options)
    (config.run_dir / "checkpoints").mkdir(parents=True)
    (config.run_dir / "checkpoints" / "last.pt").write_bytes(b"")
    save_config(config, config.run_dir / "config.yaml")
    check_same_config(config)  # same config: fine
    changed = QuickstartOptions(out=tmp_path / "qs", overrides=("optim.weight_decay=0.1",))
    other, _ = _resolve_config(MODELS[2], find_recipes(), tmp_path / "data", changed)
    with pytest.raises(TrainingError, match="delete that folder"):
        check_same_config(other)
