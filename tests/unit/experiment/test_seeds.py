"""Recipes trained per seed inside an experiment, cross-fitted choices, mean ± std rows."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from footreid.core.errors import ConfigError
from footreid.embed.extract import EmbedOptions
from footreid.experiment import (
    DatasetSection,
    ExperimentConfig,
    MethodsSection,
    ModelSection,
    run_experiment,
)
from footreid.experiment.config import validate

RECIPE = """\
name: tiny
data: {num_workers: 0, sampler: action, batch_size: 8, num_instances: 2}
model: {name: osnet_x0_25, pretrained: none}
optim: {schedule: constant}
stages:
  - {name: full, epochs: 1, lr: 1.0e-3, input_size: [64, 32]}
train: {device: cpu, threads: 1, precision: fp32, max_steps_per_epoch: 2, tensorboard: false}
val: {every: 0}
"""


def seeded_config(root: Path, out: Path, recipe: Path, checkpoint: Path) -> ExperimentConfig:
    return ExperimentConfig(
        name="seeded",
        output_dir=str(out),
        seeds=[0, 1],
        dataset=DatasetSection(root=str(root), split="valid", crossfit_folds=2),
        models=[
            ModelSection(name="r", recipe=str(recipe)),
            ModelSection(name="a", checkpoint=str(checkpoint)),
            ModelSection(  # starts from the same seed's run of r: {seed} in overrides
                name="r2",
                recipe=str(recipe),
                overrides=[
                    f"model.pretrained={out}/seeded/train/r/seed{{seed}}/checkpoints/best.pt"
                ],
            ),
        ],
        embed=EmbedOptions(
            flip_tta=False, batch_size=128, num_workers=0, device="cpu", precision="fp32"
        ),
        methods=MethodsSection(
            members=["r", "a"],
            weight_step=0.5,
            rerank=["aggressive"],
            bootstrap=200,
            compare=[["r", "r2"]],
        ),
    )


@pytest.fixture(scope="module")
def seeded_run(
    tiny_root: Path, checkpoints: dict[str, Path], tmp_path_factory: pytest.TempPathFactory
) -> tuple[Path, ExperimentConfig]:
    folder = tmp_path_factory.mktemp("seeded")
    recipe = folder / "tiny.yaml"
    recipe.write_text(RECIPE)
    config = seeded_config(tiny_root, folder / "out", recipe, checkpoints["a"])
    return run_experiment(config), config


@pytest.mark.slow
def test_recipe_models_train_once_per_seed(seeded_run) -> None:
    run, _ = seeded_run
    for seed in (0, 1):
        assert (run / "train" / "r" / f"seed{seed}" / "checkpoints" / "best.pt").is_file()
        assert (run / "features" / f"r.seed{seed}__valid.npz").is_file()
    assert (run / "features" / "a__valid.npz").is_file()  # seed-free: embedded once
    data = json.loads((run / "results.json").read_text())
    assert data["seeds"] == [0, 1]
    model = next(m for m in data["models"] if m["name"] == "r")
    assert set(model["features_by_seed"]) == {"0", "1"}


@pytest.mark.slow
def test_seeded_rows_have_a_spread_and_seed_free_rows_none(seeded_run) -> None:
    run, _ = seeded_run
    methods = {m["slug"]: m for m in json.loads((run / "results.json").read_text())["methods"]}
    r, a = methods["r"], methods["a"]
    assert [s["seed"] for s in r["seeds"]] == [0, 1]
    assert r["seeds"][0]["mAP"] != r["seeds"][1]["mAP"]
    mean = (r["seeds"][0]["mAP"] + r["seeds"][1]["mAP"]) / 2
    assert r["metrics"]["mAP"] == pytest.approx(mean)
    assert r["std"]["mAP"] == pytest.approx(
        abs(r["seeds"][0]["mAP"] - r["seeds"][1]["mAP"]) / 2**0.5
    )
    assert a["std"] is None and a["seeds"][0]["mAP"] == a["seeds"][1]["mAP"]
    text = (run / "results.md").read_text()
    assert f"{100 * mean:.2f} ± {100 * r['std']['mAP']:.2f}" in text


@pytest.mark.slow
def test_choices_are_cross_fitted_over_actions(seeded_run) -> None:
    run, _ = seeded_run
    data = json.loads((run / "results.json").read_text())
    assert data["tuning"]["mode"] == "crossfit" and data["tuning"]["folds"] == 2
    assert "cross-fitted over 2 folds" in data["best_chosen_on"]
    keys = [m["key"] for m in data["methods"]]
    assert "weighted_tuned" in keys and "rerank:aggressive" in keys
    assert data["best_method"] in [m["slug"] for m in data["methods"]]
    assert next(m for m in data["methods"] if m["slug"] == "concat")["spec"]["members"] == [
        "r",
        "a",
    ]
    tuned = next(m for m in data["methods"] if m["key"] == "weighted_tuned")
    if tuned["spec"]["kind"] == "folded":  # folds chose different weights
        actions = [a for fold in tuned["spec"]["folds"] for a in fold["actions"]]
        assert len(actions) == len(set(actions))


@pytest.mark.slow
def test_seed_placeholders_chain_runs_and_pairs_are_compared(seeded_run) -> None:
    run, _ = seeded_run
    for seed in (0, 1):
        config = (run / "train" / "r2" / f"seed{seed}" / "config.yaml").read_text()
        assert f"train/r/seed{seed}/checkpoints/best.pt" in config
    data = json.loads((run / "results.json").read_text())
    pair = next(c for c in data["comparisons"] if (c["a"], c["b"]) == ("r", "r2"))
    methods = {m["slug"]: m for m in data["methods"]}
    expected = methods["r2"]["metrics"]["mAP"] - methods["r"]["metrics"]["mAP"]
    assert pair["mAP"]["difference"]["estimate"] == pytest.approx(expected)
    assert "| r2 | r |" in (run / "results.md").read_text()


@pytest.mark.slow
def test_a_second_run_reuses_training_and_features(seeded_run) -> None:
    run, config = seeded_run
    marks = {p: p.stat().st_mtime_ns for p in [*run.rglob("*.pt"), *run.rglob("*.npz")]}
    run_experiment(config)
    assert all(p.stat().st_mtime_ns == m for p, m in marks.items())


def test_seed_and_tuning_settings_are_checked(tmp_path: Path) -> None:
    recipe = tmp_path / "r.yaml"
    recipe.write_text(RECIPE)
    base = dict(models=[ModelSection(name="r", recipe=str(recipe))])
    bad = [
        (ExperimentConfig(seeds=[0, 0], **base), "distinct"),
        (ExperimentConfig(seeds=[], **base), "at least one"),
        (
            ExperimentConfig(seeds=[0, 1], models=[ModelSection(name="x", checkpoint="x.pt")]),
            "no model has a recipe",
        ),
        (ExperimentConfig(dataset=DatasetSection(crossfit_folds=1), **base), "0 \\(off\\) or >= 2"),
        (
            ExperimentConfig(
                dataset=DatasetSection(split="test", tuning_split="valid", crossfit_folds=2), **base
            ),
            "not both",
        ),
        (
            ExperimentConfig(models=[ModelSection(name="r", recipe=str(tmp_path / "no.yaml"))]),
            "not found",
        ),
        (
            ExperimentConfig(models=[ModelSection(name="x", checkpoint="x.pt", overrides=["a=1"])]),
            "apply to a recipe",
        ),
        (ExperimentConfig(methods=MethodsSection(compare=[["r", "r"]]), **base), "two different"),
        (ExperimentConfig(methods=MethodsSection(members=["q"]), **base), "not models"),
    ]
    for config, match in bad:
        with pytest.raises(ConfigError, match=match):
            validate(config)


@pytest.mark.slow
def test_the_report_rebuilds_every_row_of_a_seeded_cross_fitted_run(seeded_run) -> None:
    from footreid.report import build_report

    run, _ = seeded_run
    page = build_report(run).read_text()
    assert "differ from results.json" not in page  # first seed's rankings re-measured
    assert "± " in page and "95 % CI" in page
