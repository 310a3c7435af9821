"""``footreid evaluate`` and ``ensemble`` on features files: tables, JSON, exit codes."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from cli_main import run_main
from typer.testing import CliRunner

from footreid.cli.main import app
from footreid.core.publish import publishable_path
from footreid.core.records import FeatureSet
from footreid.evaluate.intervals import bootstrap_intervals, paired_bootstrap
from footreid.evaluate.methods import MethodSpec, evaluate_method
from footreid.evaluate.per_query import class_breakdown

# ``footreid evaluate`` / ``footreid ensemble`` on features files: --json, intervals, exit codes

CLASSES = ("Player_team_left", "Goalkeeper_team_right", "Main_referee", "Player_team_right")


def make_features(seed: int, noise: float, split: str = "valid", actions: int = 8) -> FeatureSet:
    """Actions of 4 persons (1 query + 3 gallery crops each) around one centre per person.

    Each split numbers its crops from its own offset, as SoccerNet's splits do.
    """
    first = {"valid": 0, "test": 10_000}[split]
    rng = np.random.default_rng(seed)
    centres = np.random.default_rng(99).normal(size=(actions, 4, 16))
    rows = [(a, p, k) for a in range(actions) for p in range(4) for k in range(4)]
    feats = np.stack([centres[a, p] + noise * rng.normal(size=16) for a, p, _ in rows])
    roles = np.array(["query" if k == 0 else "gallery" for *_, k in rows])
    bbox = np.zeros(len(rows), dtype=np.int64)
    for role in ("query", "gallery"):
        offset = first + (0 if role == "query" else 500)
        bbox[roles == role] = np.arange((roles == role).sum()) + offset
    return FeatureSet(
        features=feats / np.linalg.norm(feats, axis=1, keepdims=True),
        bbox_idx=bbox,
        action_idx=[a for a, _, _ in rows],
        person_uid=[f"{a}_{p}" for a, p, _ in rows],
        role=roles,
        path=[f"{i}.png" for i in range(len(rows))],
        clazz=[CLASSES[p] for _, p, _ in rows],
        meta={"model": f"m{seed}", "split": split, "dataset_root": f"/data/{split}"},
    )


@pytest.fixture(scope="module")
def feature_files(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    folder = tmp_path_factory.mktemp("features")
    out = {}
    for name, seed, noise, split in (
        ("a", 0, 1.0, "valid"),
        ("b", 1, 1.2, "valid"),
        ("ta", 2, 1.0, "test"),
        ("tb", 3, 1.2, "test"),
    ):
        out[name] = make_features(seed, noise, split).save(folder / f"{name}.npz")
    return out


def invoke_json(args: list[str]) -> dict:
    result = CliRunner().invoke(app, args)
    assert result.exit_code == 0, (result.output, result.exception)
    return json.loads(result.stdout)  # the whole of stdout is one JSON document


def test_evaluate_json_equals_the_library(feature_files: dict[str, Path]) -> None:
    paths = [str(feature_files["a"]), str(feature_files["b"])]
    doc = invoke_json(["evaluate", *paths, "--json", "--bootstrap", "200", "--seed", "3"])
    assert doc["schema"] == "footreid.evaluation/1" and doc["command"] == "evaluate"
    assert doc["bootstrap"] == {
        "resamples": 200,
        "seed": 3,
        "level": 0.95,
        "unit": "actions",
        "interval": "percentile",
    }
    assert [m["name"] for m in doc["methods"]] == ["a", "b"] and doc["comparisons"] == []
    features = {"a": FeatureSet.load(paths[0]), "b": FeatureSet.load(paths[1])}
    for record, path in zip(doc["methods"], paths, strict=True):
        spec = MethodSpec(name=record["name"], kind="single", members=[record["name"]])
        method = evaluate_method(spec, features)
        res = method.result
        # stdout's paths are published from the working directory (footreid.core.publish):
        # the name, or relative where the clone and the files share a folder (/tmp)
        assert record["spec"] == spec.to_dict()
        assert record["features_files"] == [publishable_path(path, Path.cwd())]
        root = publishable_path(features[record["name"]].meta["dataset_root"], Path.cwd())
        assert (record["split"], record["dataset_root"]) == ("valid", root)
        assert record["mAP"] == res.mAP and record["rank1"] == res.rank1
        assert record["cmc"] == {str(k): res.cmc[k - 1] for k in (1, 5, 10, 20)}
        assert (record["num_queries"], record["num_skipped"], record["num_actions"]) == (32, 0, 8)
        assert record["per_class"] == class_breakdown(method)
        expected = bootstrap_intervals(res, resamples=200, seed=3)
        assert record["intervals"] == {k: iv.to_dict() for k, iv in expected.items()}
        assert (
            record["intervals"]["mAP"]["low"] < record["mAP"] < record["intervals"]["mAP"]["high"]
        )


def test_bootstrap_zero_drops_the_intervals(feature_files: dict[str, Path]) -> None:
    doc = invoke_json(["evaluate", str(feature_files["a"]), "--json", "--bootstrap", "0"])
    assert doc["bootstrap"] is None and doc["methods"][0]["intervals"] is None
    assert doc["methods"][0]["mAP"] > 0


def test_seed_changes_the_intervals_only(feature_files: dict[str, Path]) -> None:
    base = ["evaluate", str(feature_files["a"]), "--json", "--bootstrap", "100"]
    one, two = invoke_json([*base, "--seed", "1"]), invoke_json([*base, "--seed", "2"])
    assert one["methods"][0]["mAP"] == two["methods"][0]["mAP"]
    assert one["methods"][0]["intervals"] != two["methods"][0]["intervals"]


def test_tables_show_the_interval(feature_files: dict[str, Path]) -> None:
    path = str(feature_files["a"])
    result = wide().invoke(app, ["evaluate", path, "--bootstrap", "100"])
    assert result.exit_code == 0, result.output
    record = invoke_json(["evaluate", path, "--json", "--bootstrap", "100"])["methods"][0]
    iv = record["intervals"]["mAP"]
    cell = f"{100 * record['mAP']:.2f} [{100 * iv['low']:.1f}, {100 * iv['high']:.1f}]"
    assert "mAP % (95 % CI)" in result.stdout and cell in result.stdout
    plain = wide().invoke(app, ["evaluate", path, "--bootstrap", "0"])
    assert "CI" not in plain.stdout and f"{record['mAP']:.2%}" in plain.stdout


def test_json_stdout_stays_clean_with_exports(
    feature_files: dict[str, Path], tmp_path: Path
) -> None:
    ranking = tmp_path / "ranking.json"
    args = ["evaluate", str(feature_files["a"]), "--json", "--export-ranking", str(ranking)]
    result = CliRunner().invoke(app, args)
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["methods"][0]["name"] == "a"
    assert "written to" in result.stderr and ranking.exists()


def test_ensemble_json_compares_with_each_member(feature_files: dict[str, Path]) -> None:
    paths = [str(feature_files["a"]), str(feature_files["b"])]
    doc = invoke_json(["ensemble", *paths, "--json", "--bootstrap", "150", "--seed", "4"])
    names = [m["name"] for m in doc["methods"]]
    assert names == ["a", "b", "average(a+b)"] and doc["command"] == "ensemble"
    assert doc["methods"][2]["features_files"] == [publishable_path(p, Path.cwd()) for p in paths]
    features = {"a": FeatureSet.load(paths[0]), "b": FeatureSet.load(paths[1])}
    ensemble = evaluate_method(
        MethodSpec(name="average(a+b)", kind="average", members=["a", "b"]), features
    )
    assert doc["methods"][2]["mAP"] == ensemble.result.mAP
    assert [(c["a"], c["b"]) for c in doc["comparisons"]] == [
        ("a", "average(a+b)"),
        ("b", "average(a+b)"),
    ]
    for comparison in doc["comparisons"]:
        single = evaluate_method(
            MethodSpec(name=comparison["a"], kind="single", members=[comparison["a"]]), features
        )
        pairs = paired_bootstrap(single.result, ensemble.result, resamples=150, seed=4)
        assert comparison["mAP"] == pairs["mAP"].to_dict()
        assert comparison["rank1"] == pairs["rank1"].to_dict()
    no_ci = invoke_json(["ensemble", *paths, "--json", "--bootstrap", "0"])
    assert no_ci["comparisons"] == [] and no_ci["methods"][2]["intervals"] is None


def test_ensemble_tables_show_the_comparison(feature_files: dict[str, Path]) -> None:
    paths = [str(feature_files["a"]), str(feature_files["b"])]
    result = wide().invoke(app, ["ensemble", *paths, "--bootstrap", "50"])
    assert result.exit_code == 0, result.output
    assert "paired bootstrap over actions" in result.stdout and "p(<=0)" in result.stdout


def test_tuned_ensemble_json_keeps_notes_and_logs_off_stdout(
    feature_files: dict[str, Path],
) -> None:
    paths = [str(feature_files["a"]), str(feature_files["b"])]
    tune = f"{feature_files['ta']},{feature_files['tb']}"
    args = ["ensemble", *paths, "--mode", "weighted", "--tune-on", tune, "--json"]
    result = CliRunner().invoke(app, [*args, "--bootstrap", "20", "--weight-step", "0.5"])
    assert result.exit_code == 0, result.output
    doc = json.loads(result.stdout)
    assert doc["methods"][2]["spec"]["weights"] is not None
    assert "weights tuned on" in result.stderr


def test_tune_on_takes_the_three_documented_forms(feature_files: dict[str, Path]) -> None:
    """``--tune-on a b`` (the README's form), ``--tune-on a,b`` and ``--tune-on a --tune-on b``."""
    paths = [str(feature_files["a"]), str(feature_files["b"])]
    tune = [str(feature_files["ta"]), str(feature_files["tb"])]
    common = ["--json", "--bootstrap", "0", "--weight-step", "0.5"]
    forms = (
        ["ensemble", *paths, "--mode", "weighted", "--tune-on", *tune],
        ["ensemble", *paths, "--mode", "weighted", "--tune-on", ",".join(tune)],
        ["ensemble", "--tune-on", tune[0], *paths, "--tune-on", tune[1], "--mode", "weighted"],
        ["ensemble", *paths, "--tune-on", *tune, "--mode", "weighted"],
    )
    docs = [invoke_json([*args, *common]) for args in forms]
    weights = [d["methods"][2]["spec"]["weights"] for d in docs]
    assert weights[0] is not None and weights == [weights[0]] * len(forms)
    assert all([m["name"] for m in d["methods"]][:2] == ["a", "b"] for d in docs)


def wide() -> CliRunner:
    """A runner whose rich tables are wide enough not to wrap cells (rich reads COLUMNS)."""
    return CliRunner(env={"COLUMNS": "200"})


def test_exit_codes(
    feature_files: dict[str, Path],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    good = str(feature_files["a"])
    assert run_main(monkeypatch, ["evaluate", good, "--json", "--bootstrap", "10"]) == 0
    assert json.loads(capsys.readouterr().out)["methods"][0]["name"] == "a"
    missing = str(tmp_path / "nope.npz")
    assert run_main(monkeypatch, ["evaluate", missing, "--json"]) == 1  # a footreid error
    out, err = capsys.readouterr()
    assert out == "" and "error:" in err and "features file not found" in " ".join(err.split())
    assert run_main(monkeypatch, ["evaluate", good, "--bootstrap", "-1"]) == 2  # usage error
    assert "--bootstrap" in capsys.readouterr().err
    assert run_main(monkeypatch, ["ensemble", good, good, "--seed", "x"]) == 2
    assert "--seed" in capsys.readouterr().err


def test_help_documents_json_and_exit_codes() -> None:
    for command in ("evaluate", "ensemble"):
        result = CliRunner().invoke(app, [command, "--help"], terminal_width=200)
        text = " ".join(result.output.split())
        assert "--json" in text and "--bootstrap" in text and "--seed" in text
        assert "Exit codes: 0 success; 1 a footreid error" in text and "2 a usage error" in text


def test_an_unexpected_error_keeps_its_traceback(monkeypatch: pytest.MonkeyPatch) -> None:
    """Not a footreid or click error: a bug, raised as is (not swallowed by the handler)."""
    import footreid.cli.main as main_module

    def broken(**kwargs: object) -> None:
        raise RuntimeError("bug")

    monkeypatch.setattr(main_module, "app", broken)
    with pytest.raises(RuntimeError, match="bug"):
        main_module.main()
