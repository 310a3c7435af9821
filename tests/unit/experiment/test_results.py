"""results.json / results.md of a real (tiny) experiment run, and the tuned-weights rule."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import pytest

from footreid.core.errors import ConfigError
from footreid.core.layout import ExperimentLayout
from footreid.core.records import FeatureSet
from footreid.evaluate.evaluation import check_reported_split, tune_weights
from footreid.evaluate.methods import (
    MethodSpec,
    evaluate_method,
    method_from_dict,
)


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
    assert (data["dataset"]["split"], data["dataset"]["tuning_split"]) == ("test", "valid")


def test_the_headline_is_the_best_row_on_the_tuning_split_not_on_the_reported_one(
    experiment_run: Path,
) -> None:
    data = results(experiment_run)
    valid = {n: FeatureSet.load(experiment_run / f"features/{n}__valid.npz") for n in "ab"}
    on_valid = {
        m["slug"]: evaluate_method(method_from_dict(m["spec"]), valid).result.mAP
        for m in data["methods"]
    }
    assert data["best_method"] == max(on_valid, key=on_valid.get)  # first of the maxima
    assert data["best_chosen_on"] == "choices made on valid, reported on test"
    assert data["tuning"]["mode"] == "split"


def test_rows_carry_intervals_over_actions_and_the_headline_is_compared(
    experiment_run: Path,
) -> None:
    data = results(experiment_run)
    for m in data["methods"]:
        assert m["std"] is None and len(m["seeds"]) == 1  # one seed: no spread over seeds
        for metric in ("mAP", "rank1"):
            interval = m["interval"][metric]
            assert interval["low"] <= m["metrics"][metric] <= interval["high"]
            assert interval["unit"] == "actions" and interval["resamples"] == 1000
        assert sum(c["num_queries"] for c in m["per_class"].values()) == m["metrics"]["num_queries"]
    singles = {"a", "b"} - {data["best_method"]}
    assert {c["a"] for c in data["comparisons"]} == singles
    assert all(c["b"] == data["best_method"] for c in data["comparisons"])


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
        # recorded relative to the run (no path of this machine), resolved by the readers
        assert not Path(m["checkpoint"]).is_absolute()
        assert ExperimentLayout(experiment_run).resolve(m["checkpoint"]).is_file()


def test_results_md_has_the_table_and_says_how_rows_were_chosen(experiment_run: Path) -> None:
    text = (experiment_run / "results.md").read_text()
    data = results(experiment_run)
    assert "reported split **test**, tuning split **valid**" in text
    header = "| method | mAP | mAP 95 % CI | Rank-1 | Rank-1 95 % CI | CMC@5 | CMC@10 | CMC@20 |"
    assert header in text
    for method in data["methods"]:
        starts = (f"| {method['name']} ", f"| **{method['name']} ", f"| **{method['name']}**")
        table = text[text.index("## Results") :].splitlines()
        row = next(line for line in table if line.startswith(starts))
        assert f"{100 * method['metrics']['mAP']:.2f}" in row
    assert "Weights searched on a grid" in text and "not a reported result" in text
    assert "choices made on valid" in text
    assert "chosen by mAP on the tuning queries" in text and "Per class of the query" in text
    assert f"**{data['best_method']}**" in text


def test_tuned_weights_are_refused_on_the_tuning_split_without_the_flag(
    experiment_run: Path,
) -> None:
    feats = {s: FeatureSet.load(experiment_run / f"features/a__{s}.npz") for s in ("valid", "test")}
    other = FeatureSet.load(experiment_run / "features/b__valid.npz")
    spec = MethodSpec(name="avg", kind="average", members=["a", "b"], weights=None, metric="cosine")
    _, search = tune_weights(spec, {"a": feats["valid"], "b": other}, step=0.5)
    with pytest.raises(ConfigError, match="--allow-same-split"):
        check_reported_split(search, feats["valid"])
    assert check_reported_split(search, feats["valid"], allow_same_split=True) is True
    assert check_reported_split(search, feats["test"]) is False


def test_centred_experiment_rows_carry_the_flag_and_rebuild_exactly(
    tiny_root: Path, checkpoints: dict[str, Path], tmp_path: Path, experiment_helpers
) -> None:
    from footreid.evaluate.centring import centre_features
    from footreid.experiment import run_experiment
    from footreid.report.outcomes import compute_outcomes, mismatches
    from footreid.report.run import read_run

    make_config, _ = experiment_helpers
    config = make_config(tiny_root, tmp_path, checkpoints, rerank=[], centre="view")
    run = run_experiment(config)
    data = results(run)
    assert all(m["spec"]["centre"] == "view" for m in data["methods"])
    test = {n: FeatureSet.load(run / f"features/{n}__test.npz") for n in "ab"}
    plain_a = evaluate_method(
        MethodSpec(name="a", kind="single", members=["a"]),
        {"a": centre_features(test["a"], "view")},
    )
    row_a = next(m for m in data["methods"] if m["slug"] == "a")
    assert row_a["metrics"]["mAP"] == pytest.approx(plain_a.result.mAP)
    report_run = read_run(run)
    assert mismatches(report_run, compute_outcomes(report_run, report_run.load_features())) == []
