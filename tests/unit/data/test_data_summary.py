"""``data-info``'s summaries: counts, decoding, consistency findings, ground truth."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from soccernet_tree import GAME_A, build, name, put

from footreid.core.errors import DataError
from footreid.data.soccernet import read_eval_split
from footreid.data.summary import summarize_dataset


@pytest.fixture
def tree(tmp_path: Path) -> Path:
    return build(tmp_path / "data")


def test_summary_of_the_tiny_tree(tree: Path) -> None:
    summary = summarize_dataset(tree)
    assert summary.reid_root == tree / "reid" and summary.skipped == 0
    train, valid, challenge = summary.splits
    assert (train.split, train.images, train.identities, train.actions) == ("train", 10, 8, 4)
    assert train.crops_per_action == (2.0, 2.5, 3.0) and train.decoded == 10
    assert (valid.queries, valid.gallery, valid.identities, valid.actions) == (3, 4, 4, 2)
    assert valid.heights == (20.0, 20.0, 20.0, 20.0, 20.0)
    assert valid.class_counts == {"Main_referee": 7} and valid.warnings == []
    assert (challenge.images, challenge.identities, challenge.class_counts) == (5, 0, {})


def test_summary_decodes_and_reports_problems(tree: Path) -> None:
    reid = tree / "reid"
    cut = put(reid.joinpath("valid", "gallery", *GAME_A, "1", name(4, 1, "103", 20)), 20, 4)
    cut.write_bytes(cut.read_bytes()[:40])  # header intact, pixels cut off
    put(reid.joinpath("valid", "query", *GAME_A, "1", name(3, 1, "104", 20)), 30, 4)  # size
    with pytest.raises(DataError, match="cannot decode") as info:
        summarize_dataset(tree)
    assert info.value.path == cut
    truth = {
        "query": {
            "0": {"action_idx": 0, "person_uid": "100"},
            "1": {"action_idx": 0, "person_uid": "999"},
        },
        "gallery": {},
    }
    (reid / "valid" / "bbox_info.json").write_text(json.dumps(truth))
    valid = summarize_dataset(tree, skip_bad=True).splits[1]
    assert valid.skipped.counts == {"decode": 1} and valid.decoded == 8
    assert valid.gallery == 4 and valid.queries == 4
    text = " | ".join(valid.warnings)
    assert "1 crops differ in size from their name" in text
    assert "1 queries have no same-action gallery match" in text
    assert "2 query crops are missing from bbox_info.json" in text
    assert "1 query crops disagree with bbox_info.json" in text
    assert "4 gallery crops are missing from bbox_info.json" in text
    quick = summarize_dataset(tree, skip_bad=True, decode=False).splits[1]
    assert quick.decoded is None and quick.skipped.total == 0 and quick.gallery == 5


def test_mot20_summary_is_clean(mot20_root: Path) -> None:
    train, valid = summarize_dataset(mot20_root).splits
    assert (train.images, train.identities, train.actions, train.decoded) == (2039, 267, 11, 2039)
    assert (valid.queries, valid.gallery, valid.actions) == (118, 666, 30)
    assert train.warnings == [] and valid.warnings == []  # bbox_info.json agrees with the tree
    assert valid.heights[0] == 40 and valid.heights[-1] == 160  # README: 40-160 px


def test_split_with_no_decodable_crop_is_an_error(tree: Path) -> None:
    for path in (tree / "reid" / "challenge" / "gallery").iterdir():
        path.write_bytes(path.read_bytes()[:40])
    with pytest.raises(DataError, match="no decodable crops") as info:
        summarize_dataset(tree, skip_bad=True)
    assert info.value.path == tree / "reid" / "challenge"


def test_challenge_ground_truth_beside_the_split_is_checked_on_action_only(tree: Path) -> None:
    truth = tree / "reid" / "challenge_bbox_info.json"
    query = {"0": {"action_idx": 0, "person_uid": "5"}, "1": {"action_idx": 1, "person_uid": "6"}}
    gallery = {str(b): {"action_idx": a, "person_uid": "5"} for b, a in ((0, 0), (1, 0), (2, 0))}
    truth.write_text(json.dumps({"query": query, "gallery": gallery}))
    ev = read_eval_split(tree, "challenge")
    assert ev.bbox_info == truth
    challenge = summarize_dataset(tree, decode=False).splits[2]
    assert challenge.warnings == [
        "1 gallery crops disagree with challenge_bbox_info.json on person_uid/action_idx"
    ]
