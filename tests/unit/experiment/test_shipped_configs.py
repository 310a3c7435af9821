"""The experiment configs in configs/experiments load, validate and follow the rules."""

from __future__ import annotations

from pathlib import Path

import pytest

from footreid.core.config import load_config
from footreid.experiment import load_experiment
from footreid.models import list_models

REPO = Path(__file__).resolve().parents[3]
EXPERIMENTS = sorted((REPO / "configs" / "experiments").glob("*.yaml"))


@pytest.mark.parametrize("path", EXPERIMENTS, ids=[p.stem for p in EXPERIMENTS])
def test_experiment_config_loads_with_its_recipes(path: Path, monkeypatch) -> None:
    monkeypatch.chdir(REPO)  # recipe paths are relative to the repository
    config = load_experiment(path)
    names = [m.name for m in config.models]
    assert len(names) == len(set(names))
    for model in config.models:
        if model.recipe is not None:
            recipe = load_config(model.recipe)  # the recipe itself loads
            assert recipe.model.name in list_models()
        elif model.model is not None:
            assert model.model in list_models()
    for pair in config.methods.compare:
        assert set(pair) <= set(names), f"{path.name}: compare names an unknown model {pair}"


@pytest.mark.parametrize("name", ["snmot_real", "snmot_synthetic"])
def test_real_football_experiments_choose_away_from_the_reported_queries(
    name: str, monkeypatch
) -> None:
    monkeypatch.chdir(REPO)
    config = load_experiment(REPO / "configs" / "experiments" / f"{name}.yaml")
    ds = config.dataset
    assert ds.root == "../shared/data/snmot-reid" and ds.split == "valid"
    assert ds.tuning_split is None and ds.crossfit_folds >= 2  # valid is the only split
    assert len(config.seeds) >= 3
    assert any(m.recipe for m in config.models)


def test_snmot_real_has_the_baselines_the_colour_model_and_their_fusion(monkeypatch) -> None:
    monkeypatch.chdir(REPO)
    config = load_experiment(REPO / "configs" / "experiments" / "snmot_real.yaml")
    models = {m.name: m for m in config.models}
    pretrained = {m.pretrained for m in config.models if m.model}
    assert {
        "../shared/weights/osnet_x0_25_msmt17.pth",
        "../shared/weights/osnet_x0_25_market1501.pth",
    } <= pretrained
    assert models["hsv"].model == "hsv"
    assert set(config.methods.members) == {"snmot_omz_0277", "snmot_osnet", "hsv"}
    assert {f"omz_reid_{n}" for n in ("0277", "0286", "0287", "0288")} <= set(models)
    assert config.methods.search_weights and config.methods.centre == "view"
