"""The demo's run view: filters, per-action rankings, safe crop paths."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pytest

from footreid.core.errors import DataError
from footreid.core.records import FeatureSet
from footreid.serve.search import NotFound, RunIndex


@pytest.fixture(scope="module")
def index(served_run: Path) -> RunIndex:
    return RunIndex(served_run)


def test_queries_filters_partition_the_queries(index: RunIndex) -> None:
    slug = index.best_method
    every = index.queries(slug, "all", limit=500)
    correct = index.queries(slug, "correct", limit=500)
    wrong = index.queries(slug, "wrong", limit=500)
    assert every["total"] == len(index.query_rows) == correct["total"] + wrong["total"]
    assert all(q["correct"] and q["first_match_rank"] == 1 for q in correct["items"])
    assert all(q["correct"] is False and q["first_match_rank"] > 1 for q in wrong["items"])
    recorded = index.methods[slug]["metrics"]["rank1"]
    assert correct["total"] / every["total"] == pytest.approx(recorded)


def test_queries_search_action_and_paging(index: RunIndex) -> None:
    slug = index.best_method
    in_action = index.queries(slug, action=2, limit=500)
    assert in_action["total"] > 0 and {q["action_idx"] for q in in_action["items"]} == {2}
    assert index.queries(slug, search="a2", limit=500)["total"] == in_action["total"]
    referees = index.queries(slug, search="REFEREE", limit=500)["items"]
    assert referees and all("referee" in q["clazz"].lower() for q in referees)
    first, second = index.queries(slug, limit=3), index.queries(slug, offset=3, limit=3)
    assert len(first["items"]) == 3
    assert {q["bbox_idx"] for q in first["items"]}.isdisjoint(
        q["bbox_idx"] for q in second["items"]
    )


@pytest.mark.parametrize("slug_index", range(6))
def test_ranking_is_the_query_action_only(index: RunIndex, slug_index: int) -> None:
    slug = list(index.methods)[slug_index]
    ref = index.reference
    for query in index.queries(slug, limit=500)["items"]:
        ranked = index.ranking(slug, query["bbox_idx"])
        action = query["action_idx"]
        assert ranked["action_idx"] == action
        assert {g["action_idx"] for g in ranked["items"]} == {action}
        gallery_of_action = int(((ref.role == "gallery") & (ref.action_idx == action)).sum())
        assert ranked["num_gallery"] == len(ranked["items"]) == gallery_of_action
        distances = [g["distance"] for g in ranked["items"]]
        assert distances == sorted(distances)
        matches = [g["match"] for g in ranked["items"]]
        assert matches == [g["person_uid"] == query["person_uid"] for g in ranked["items"]]
        if query["first_match_rank"]:
            assert matches.index(True) + 1 == query["first_match_rank"]


def test_unknown_method_query_and_crop(index: RunIndex) -> None:
    with pytest.raises(NotFound, match="unknown method 'nope'"):
        index.view("nope")
    with pytest.raises(NotFound, match="no query with bbox_idx 99999"):
        index.ranking(index.best_method, 99999)
    with pytest.raises(NotFound):
        index.image_path("train", 0)
    with pytest.raises(NotFound):
        index.image_path("gallery", 99999)
    assert index.image_path("query", 0).is_file()


def test_crops_outside_the_split_folder_are_never_served(served_run: Path, tmp_path: Path) -> None:
    run_dir = tmp_path / "run"
    shutil.copytree(served_run, run_dir, ignore=shutil.ignore_patterns("osnet.pt"))
    secret = tmp_path / "secret.png"
    secret.write_bytes(b"\x89PNG secret")
    path = run_dir / "features" / "good.npz"
    feats = FeatureSet.load(path)
    feats.path[0] = "../../../../secret.png"  # a tampered features file
    feats.path[1] = "/etc/passwd"
    feats.save(path)
    index = RunIndex(run_dir)
    for row in (0, 1):
        role, bbox = str(feats.role[row]), int(feats.bbox_idx[row])
        with pytest.raises(NotFound, match="outside the dataset"):
            index.image_path(role, bbox)
    assert index.image_path(str(feats.role[2]), int(feats.bbox_idx[2])).is_file()


def test_bad_results_file_names_the_fields(served_run: Path, tmp_path: Path) -> None:
    data = json.loads((served_run / "results.json").read_text())
    del data["methods"][0]["spec"]
    (tmp_path / "results.json").write_text(json.dumps(data))
    with pytest.raises(DataError, match=r"methods\[\].spec"):
        RunIndex(tmp_path)


def test_actions_count_queries_and_gallery(index: RunIndex) -> None:
    actions = index.actions()
    ref = index.reference
    assert [a["action_idx"] for a in actions] == sorted(np.unique(ref.action_idx).tolist())
    assert sum(a["num_queries"] for a in actions) == int((ref.role == "query").sum())
    assert sum(a["num_gallery"] for a in actions) == int((ref.role == "gallery").sum())
