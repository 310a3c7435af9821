"""Every recipe in configs/recipes loads, fits its model, names real losses, and trains."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch
from typer.testing import CliRunner

from footreid.cli.main import app
from footreid.core.config import load_config, read_yaml
from footreid.models import create_model
from footreid.models.factory import MODELS, list_models
from footreid.train.objectives import LOSSES, build_objective
from footreid.train.stages import plan_stages

RECIPES_DIR = Path(__file__).resolve().parents[3] / "configs" / "recipes"
RECIPES = sorted(RECIPES_DIR.glob("*.yaml"))
SNMOT = [p for p in RECIPES if p.name.startswith("snmot_")]
REAL = [
    p for p in RECIPES if not p.name.startswith(("synthetic_", "snmot_")) and p.name != "base.yaml"
]


def test_the_real_data_recipes_are_there() -> None:
    names = {p.name for p in REAL}
    assert {
        "osnet_ain_x1_0_ce-triplet_384x192_staged.yaml",
        "resnet50_fc512_ce-triplet_256x128_staged.yaml",
        "vit_small_patch14_dinov2_lora-ce-triplet_378x196_staged.yaml",
    } <= names
    assert any(load_config(p).data.sampler == "action" for p in REAL)  # the SOTA-style one


@pytest.mark.parametrize("path", RECIPES, ids=[p.stem for p in RECIPES])
def test_recipe_is_valid(path: Path) -> None:
    config = load_config(path)
    assert config.model.name in list_models()
    with torch.device("meta"):  # shapes only
        model = create_model(config.model.name, **config.model.options)
    plan = plan_stages(config.stages, model.spec.input_size, model.spec.patch_size)
    assert plan
    assert set(config.loss) <= set(LOSSES.names())
    objective = build_objective(config.loss)
    assert objective.terms
    assert config.val.split != config.val.report_split or config.val.allow_report_split


@pytest.mark.parametrize("path", REAL, ids=[p.stem for p in REAL])
def test_real_data_recipe_follows_the_brief(path: Path) -> None:
    config = load_config(path)
    raw = read_yaml(path)
    assert raw.get("base") == "base.yaml"
    assert (config.val.split, config.val.report_split) == ("valid", "test")
    assert not config.val.allow_report_split
    assert config.data.root == "data/soccernet" and config.model.pretrained != "none"
    model_size = config.model.options.get("input_size")
    final = config.stages[-1]
    assert final.fraction == 1.0
    if model_size is not None:  # ViTs: the position grid is the final stage's size
        assert model_size == final.input_size
    sizes = [s.input_size for s in config.stages]
    assert all(a[0] <= b[0] for a, b in zip(sizes, sizes[1:], strict=False))  # small first
    assert any(s.progressive for s in config.stages)


@pytest.mark.parametrize("path", SNMOT, ids=[p.stem for p in SNMOT])
def test_football_recipe_fine_tunes_on_snmot_train_and_never_selects(path: Path) -> None:
    config = load_config(path)
    raw = read_yaml(path)
    assert path.name == "snmot_base.yaml" or raw.get("base") == "snmot_base.yaml"
    assert config.data.root == "../shared/data/snmot-reid" and config.data.sampler == "action"
    assert config.val.split == "valid" and config.val.every == 0  # a fixed schedule
    if path.name != "snmot_base.yaml":
        assert config.model.pretrained.startswith("../shared/weights/")
        assert sum(s.epochs for s in config.stages) * config.train.max_steps_per_epoch <= 1200


def test_brief_recipes_match_spec_section_4() -> None:
    osnet = load_config(RECIPES_DIR / "osnet_ain_x1_0_ce-triplet_384x192_staged.yaml")
    assert osnet.model.name == "osnet_ain_x1_0" and osnet.stages[-1].input_size == [384, 192]
    assert [s.fraction for s in osnet.stages] == [0.1, 0.3, 1.0]
    assert (osnet.optim.name, osnet.optim.schedule, osnet.optim.step_size) == ("adam", "step", 20)
    assert osnet.stages[-1].epochs == 60 and osnet.stages[-1].lr == 3e-4
    assert osnet.loss == {
        "ce": {"weight": 0.5, "label_smoothing": 0.1},
        "triplet": {"weight": 0.5, "margin": 0.3},
    }
    assert (osnet.data.batch_size, osnet.data.num_instances) == (32, 4)
    resnet = load_config(RECIPES_DIR / "resnet50_fc512_ce-triplet_256x128_staged.yaml")
    assert resnet.model.options["last_stride"] == 1 and resnet.stages[-1].input_size == [256, 128]
    dino = load_config(RECIPES_DIR / "vit_small_patch14_dinov2_lora-ce-triplet_378x196_staged.yaml")
    opts = dino.model.options
    assert (opts["lora_r"], opts["lora_alpha"], opts["lora_dropout"]) == (16, 16, 0.1)
    assert (dino.optim.name, dino.optim.schedule, dino.stages[-1].lr) == ("adamw", "cosine", 5e-4)
    assert {k: v["weight"] for k, v in dino.loss.items()} == {"ce": 1.0, "triplet": 1.0}


def small_size(name: str, options: dict) -> list[int]:
    """2 x 1 patches for a ViT, 64x32 for a CNN."""
    with torch.device("meta"):
        patch = create_model(name, **options).spec.patch_size
    return [2 * patch, patch] if patch else [64, 32]


def smoke_overrides(path: Path, root: Path, out: Path) -> list[str]:
    """Shrink a recipe to one 1-step epoch per stage on tiny data, small images, no weights."""
    config = load_config(path)
    size = small_size(config.model.name, config.model.options)
    sets = [
        f"data.root={root}",
        f"output_dir={out}",
        "data.num_workers=0",
        "data.batch_size=8",
        "data.num_instances=2",
        "model.pretrained=none",
        "train.device=cpu",
        "train.precision=fp32",
        "train.threads=1",
        "train.max_steps_per_epoch=1",
        "train.tensorboard=false",
    ]
    if "input_size" in MODELS.get(config.model.name).options.names():  # fixed-size heads too
        sets.append(f"model.options.input_size={size}")
    for i in range(len(config.stages)):
        sets += [
            f"stages.{i}.epochs=1",
            f"stages.{i}.input_size={size}",
            f"stages.{i}.progressive=[]",
            f"stages.{i}.fraction={max(config.stages[i].fraction, 0.3)}",
        ]
    return sets


@pytest.mark.slow
@pytest.mark.parametrize("path", RECIPES, ids=[p.stem for p in RECIPES])
def test_recipe_trains_one_step_per_stage(path: Path, tiny_root: Path, tmp_path: Path) -> None:
    args = ["train", "-c", str(path), "--no-val"]
    for item in smoke_overrides(path, tiny_root, tmp_path / "runs"):
        args += ["--set", item]
    threads = torch.get_num_threads()
    try:
        result = CliRunner().invoke(app, args)
    finally:
        torch.set_num_threads(threads)
    assert result.exit_code == 0, f"{result.output}\n{result.exception!r}"
    config = load_config(path)
    checkpoints = tmp_path / "runs" / config.name / "checkpoints"
    ends = sorted(p.name for p in checkpoints.glob("stage*.pt"))
    assert len(ends) == len(config.stages)
    last = torch.load(checkpoints / "last.pt", weights_only=True)
    assert last["global_step"] == len(config.stages)
