"""results.json / results.md of a real (tiny) experiment run, and the tuned-weights rule."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import pytest

from footreid.core.errors import ConfigError
from footreid.core.records import FeatureSet
from footreid.evaluate.methods import MethodSpec, check_reported_split, tune_weights


def results(run: Path) -> dict:
    return json.loads((run / "results.json").read_text())


def test_results_json_lists_every_row_of_the_table(experiment_run: Path) -> None:
    data = results(experiment_run)
    slugs = [m["slug"] for m in data["methods"]]
    assert slugs[:4] == ["a", "b", "concat", "average"]
    assert "weighted_0.75_0.25" in slugs and "weighted_tuned" in slugs
    reranked = [s for s in slugs if "__rerank_standard" in s]
    assert len(reranked) == 1 and len(slugs) == 7
    assert data["best_method"] in slugs
    best = max(data["methods"], key=lambda m: m["metrics"]["mAP"])
    assert data["best_method"] == best["slug"]
    assert (data["dataset"]["split"], data["dataset"]["tuning_split"]) == ("test", "valid")


def test_results_json_metrics_are_measured_fractions(experiment_run: Path) -> None:
    for method in results(experiment_run)["methods"]:
        m = method["metrics"]
        assert 0.0 < m["mAP"] <= 1.0 and 0.0 <= m["rank1"] <= 1.0
        cmc = m["cmc"]
        assert len(cmc) == 20 and cmc[0] == pytest.approx(m["rank1"])
        assert all(x <= y + 1e-12 for x, y in zip(cmc, cmc[1:], strict=False))
        rows = list(csv.DictReader((experiment_run / method["per_query_csv"]).open()))
        assert len(rows) == m["num_queries"] > 0


def test_results_json_models_point_into_the_run(experiment_run: Path) -> None:
    models = results(experiment_run)["models"]
    assert [m["name"] for m in models] == ["a", "b"]
    for m in models:
        assert (experiment_run / m["features"]).is_file()
        assert m["features"] == f"features/{m['name']}__test.npz"
        assert Path(m["checkpoint"]).is_file()


def test_results_md_has_the_table_and_says_how_rows_were_chosen(experiment_run: Path) -> None:
    text = (experiment_run / "results.md").read_text()
    data = results(experiment_run)
    assert "reported split **test**, tuning split **valid**" in text
    assert "| method | mAP | Rank-1 | CMC@5 | CMC@10 | CMC@20 | time (s) |" in text
    for method in data["methods"]:
        starts = (f"| {method['name']} ", f"| **{method['name']} ", f"| **{method['name']}**")
        table = text[text.index("## Results") :].splitlines()
        row = next(line for line in table if line.startswith(starts))
        assert f"{100 * method['metrics']['mAP']:.2f}" in row
    assert "Weights searched on valid" in text and "not a reported result" in text
    assert "best ensemble by mAP on the tuning split" in text
    assert f"**{data['best_method']}**" in text


def test_tuned_weights_are_refused_on_the_tuning_split_without_the_flag(
    experiment_run: Path,
) -> None:
    feats = {s: FeatureSet.load(experiment_run / f"features/a__{s}.npz") for s in ("valid", "test")}
    other = FeatureSet.load(experiment_run / "features/b__valid.npz")
    spec = MethodSpec("avg", "average", ["a", "b"], None, "cosine")
    _, search = tune_weights(spec, {"a": feats["valid"], "b": other}, step=0.5)
    with pytest.raises(ConfigError, match="--allow-same-split"):
        check_reported_split(search, feats["valid"])
    assert check_reported_split(search, feats["valid"], allow_same_split=True) is True
    assert check_reported_split(search, feats["test"]) is False
