"""Reading a run directory and ranking queries within their own action."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pytest

from footreid.core.errors import DataError
from footreid.report.run import method_distances, ranked_queries, read_run


def test_read_run_resolves_paths(fake_run: Path) -> None:
    run = read_run(fake_run)
    assert [m.name for m in run.models] == ["good", "weak"]
    assert run.models[0].features == fake_run / "features" / "good.npz"
    assert run.models[0].train_run == fake_run / "train_good"
    assert run.models[1].train_run is None and run.models[1].checkpoint is None
    assert run.split_dir == run.dataset_root / "reid" / "valid"
    assert run.method(run.best_method).cmc.shape == (20,)
    with pytest.raises(DataError, match="no method 'nope'"):
        run.method("nope")


def test_read_run_names_the_missing_field(fake_run: Path, tmp_path: Path) -> None:
    with pytest.raises(DataError, match="results.json: not found"):
        read_run(tmp_path)
    data = json.loads((fake_run / "results.json").read_text())
    del data["methods"][1]["metrics"]["rank1"]
    (tmp_path / "results.json").write_text(json.dumps(data))
    with pytest.raises(DataError, match=r"methods\[\].metrics.rank1"):
        read_run(tmp_path)
    (tmp_path / "results.json").write_text("{not json")
    with pytest.raises(DataError, match="cannot read results"):
        read_run(tmp_path)


def test_ranked_queries_stay_in_their_action(fake_run: Path) -> None:
    run = read_run(fake_run)
    dist = method_distances(run.method(run.best_method), run.load_features())
    split = dist.split
    rows = list(range(split.num_queries))
    for rq in ranked_queries(dist, rows):
        assert (
            split.gallery_action_idx[rq.gallery_rows] == split.query_action_idx[rq.query_row]
        ).all()
        assert (np.diff(rq.distances) >= 0).all()
        same = split.gallery_person_uid[rq.gallery_rows] == split.query_person_uid[rq.query_row]
        assert (rq.matches == same).all()
        assert len(rq.gallery_rows) == (split.gallery_action_idx == rq.action_idx).sum()
    with pytest.raises(DataError, match="in no action block"):
        ranked_queries(dist, [split.num_queries + 5])


def test_relative_paths_fall_back_to_the_cwd(fake_run: Path, tmp_path: Path, monkeypatch) -> None:
    data = json.loads((fake_run / "results.json").read_text())
    shutil.copytree(fake_run / "features", tmp_path / "elsewhere")
    for model in data["models"]:
        model["features"] = model["features"].replace("features/", "elsewhere/")
    run_dir = tmp_path / "run"
    run_dir.mkdir()
    (run_dir / "results.json").write_text(json.dumps(data))
    monkeypatch.chdir(tmp_path)
    run = read_run(run_dir)
    assert run.models[0].features == Path("elsewhere/good.npz")
    assert len(run.load_features()["good"]) > 0
