"""The embedding cache: a new ensemble re-uses the features; a new checkpoint does not."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

import footreid.experiment.cache as cache_module
from footreid.core.layout import ExperimentLayout
from footreid.experiment import run_experiment
from footreid.experiment.cache import FeatureCache


def copy_run(run: Path, dest: Path) -> Path:
    """A writable copy of the session's run (features included)."""
    shutil.copytree(run, dest / "exp")
    return dest / "exp"


def forbid_embedding(monkeypatch: pytest.MonkeyPatch) -> None:
    def fail(*args, **kwargs):
        raise AssertionError("embed_split called: the cache was not used")

    monkeypatch.setattr(cache_module, "embed_split", fail)


def test_a_new_ensemble_does_not_re_embed(
    experiment_run: Path, tiny_root: Path, checkpoints: dict[str, Path], tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch, experiment_helpers: tuple,
) -> None:  # fmt: skip
    make_config, _ = experiment_helpers
    run = copy_run(experiment_run, tmp_path)
    before = {p.name: p.stat().st_mtime_ns for p in (run / "features").glob("*.npz")}
    assert len(before) == 4  # 2 models x (test, valid)
    forbid_embedding(monkeypatch)
    config = make_config(
        tiny_root, tmp_path, checkpoints, weighted=[{"a": 0.25, "b": 0.75}], rerank=["broad"]
    )
    run_experiment(config)
    after = {p.name: p.stat().st_mtime_ns for p in (run / "features").glob("*.npz")}
    assert after == before
    slugs = [m["slug"] for m in json.loads((run / "results.json").read_text())["methods"]]
    assert "weighted_0.25_0.75" in slugs and any(s.endswith("__rerank_broad") for s in slugs)
    assert "cached" in (run / "results.md").read_text()


def test_a_changed_checkpoint_is_embedded_again(
    experiment_run: Path, tiny_root: Path, checkpoints: dict[str, Path], tmp_path: Path,
    experiment_helpers: tuple,
) -> None:  # fmt: skip
    make_config, write_checkpoint = experiment_helpers
    run = copy_run(experiment_run, tmp_path)
    new = write_checkpoint(tmp_path / "a2.pt", seed=7)
    config = make_config(tiny_root, tmp_path, {"a": new, "b": checkpoints["b"]})
    cache = FeatureCache(run, tiny_root, config.embed)
    fresh = cache.get(config.models[0], "test")
    assert not fresh.cached
    assert cache.get(config.models[1], "test").cached
    assert cache.get(config.models[0], "test").cached  # written by the first call


def test_an_unreadable_cache_file_is_replaced(
    experiment_run: Path, tiny_root: Path, checkpoints: dict[str, Path], tmp_path: Path,
    experiment_helpers: tuple,
) -> None:  # fmt: skip
    make_config, _ = experiment_helpers
    run = copy_run(experiment_run, tmp_path)
    path = ExperimentLayout(run).features_file("a", "valid")
    path.write_bytes(b"not an npz")
    config = make_config(tiny_root, tmp_path, checkpoints)
    got = FeatureCache(run, tiny_root, config.embed).get(config.models[0], "valid")
    assert not got.cached and got.features.meta["split"] == "valid"
    assert cache_module.FeatureSet.load(path).meta["split"] == "valid"  # rewritten


def test_a_registry_model_is_cached_by_its_options(tiny_root: Path, tmp_path: Path) -> None:
    from footreid.embed.extract import EmbedOptions
    from footreid.experiment import ModelSection

    options = EmbedOptions(flip_tta=False, num_workers=0, device="cpu", precision="fp32")
    cache = FeatureCache(tmp_path, tiny_root, options)
    two = ModelSection(name="hsv", model="hsv", options={"parts": 2, "bins": (4, 4, 4)})
    first = cache.get(two, "valid")
    assert not first.cached and first.features.dim == 2 * 64
    assert first.features.meta["model_options"] == {"bins": [4, 4, 4], "parts": 2}
    assert FeatureCache(tmp_path, tiny_root, options).get(two, "valid").cached
    three = ModelSection(name="hsv", model="hsv", options={"parts": 3, "bins": [4, 4, 4]})
    again = FeatureCache(tmp_path, tiny_root, options).get(three, "valid")
    assert not again.cached and again.features.dim == 3 * 64
