"""Run folders: every file name in one place, and the checkpoint keys."""

from __future__ import annotations

from pathlib import Path

from footreid.core.layout import (
    CHECKPOINT_KEYS,
    RESUME_KEYS,
    ExperimentLayout,
    QuickstartLayout,
    RunLayout,
    stage_file,
)


def test_stage_file_name() -> None:
    assert stage_file(2, "full") == "stage2-full.pt"


def test_training_run_layout(tmp_path: Path) -> None:
    run = RunLayout(tmp_path / "run").make()
    names = {p.name for p in run.root.iterdir()}
    assert names == {"checkpoints", "tb", "features"}
    assert (run.config.name, run.metrics.name) == ("config.yaml", "metrics.jsonl")
    assert run.last == run.checkpoints / "last.pt" and run.best == run.checkpoints / "best.pt"
    assert run.stage_checkpoint(1, "s2") == run.checkpoints / "stage1-s2.pt"


def test_experiment_and_quickstart_layouts(tmp_path: Path) -> None:
    exp = ExperimentLayout(tmp_path)
    train_run = exp.train_dir("osnet") / exp.seed_run(3)
    assert train_run == tmp_path / "train" / "osnet" / "seed3"
    name = exp.seed_features("osnet", 3)
    assert exp.features_file(name, "test") == tmp_path / "features" / "osnet.seed3__test.npz"
    assert exp.per_query_csv("concat") == tmp_path / "per_query" / "concat.csv"
    assert (exp.results_json.name, exp.results_md.name) == ("results.json", "results.md")
    quick = QuickstartLayout(tmp_path)
    assert quick.dataset("tiny") == tmp_path / "synthetic-tiny"
    assert quick.train == tmp_path / "train" and quick.experiment == tmp_path / "experiment"


def test_checkpoint_keys_are_disjoint() -> None:
    assert not set(CHECKPOINT_KEYS) & set(RESUME_KEYS)
    assert {"model", "input_size", "model_name", "model_kwargs"} <= set(CHECKPOINT_KEYS)
