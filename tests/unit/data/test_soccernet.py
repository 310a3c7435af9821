"""SoccerNet-v3 ReID layout: roots, train/eval lists, bad files, subsets."""

from __future__ import annotations

import logging
from pathlib import Path

import pytest
from soccernet_tree import GALLERY, GAME_A, GAME_B, QUERY, TRAIN, TRAIN_A0, build, name, put

from footreid.core.errors import ConfigError, DataError
from footreid.data.soccernet import (
    EVAL_SPLITS,
    SkipReport,
    find_reid_root,
    read_eval_split,
    read_train,
    relabel,
    subset_by_actions,
)
from footreid.data.walk import SKIP_HINT


@pytest.fixture
def tree(tmp_path: Path) -> Path:
    return build(tmp_path / "data")


def test_find_reid_root_accepts_the_three_forms(tmp_path: Path) -> None:
    plain = build(tmp_path / "plain")
    assert find_reid_root(plain) == plain / "reid"
    assert find_reid_root(plain / "reid") == plain / "reid"
    nested = tmp_path / "nested"
    (plain / "reid").rename(tmp_path / "reid_moved")
    (nested / "soccernetv3").mkdir(parents=True)
    (tmp_path / "reid_moved").rename(nested / "soccernetv3" / "reid")
    assert find_reid_root(nested) == nested / "soccernetv3" / "reid"


def test_find_reid_root_errors(tmp_path: Path) -> None:
    with pytest.raises(DataError, match="dataset folder not found"):
        find_reid_root(tmp_path / "absent")
    with pytest.raises(DataError, match="no SoccerNet-v3 ReID data") as info:
        find_reid_root(tmp_path)
    assert info.value.path == tmp_path and "footreid download" in info.value.problem


def test_read_train_sorts_by_bbox_idx_and_relabels_by_first_appearance(tree: Path) -> None:
    samples = read_train(tree)
    assert [s.bbox_idx for s in samples] == [0, 1, 2, 3, 4, 5, 6, 7, 8, 10]
    assert [s.label for s in samples] == [0, 1, 0, 2, 3, 4, 5, 6, 7, 6]
    first = samples[0]
    assert (first.action_idx, first.person_uid, first.frame_idx) == (0, "10", 0)
    assert (first.clazz, first.id, first.uai, first.height, first.width) == (
        "Main_referee",
        "7",
        "uai0",
        8,
        4,
    )
    assert first.role == "train" and first.path.is_file() and first.path.is_absolute()


def test_read_eval_split_keeps_person_uid_strings(tree: Path) -> None:
    ev = read_eval_split(tree, "valid")
    assert ev.split == "valid" and ev.folder == tree / "reid" / "valid"
    assert [(s.bbox_idx, s.action_idx, s.person_uid) for s in ev.query] == QUERY
    assert [(s.bbox_idx, s.action_idx, s.person_uid) for s in ev.gallery] == GALLERY
    assert {s.role for s in ev.query} == {"query"} and {s.role for s in ev.gallery} == {"gallery"}
    assert {s.label for s in (*ev.query, *ev.gallery)} == {-1}
    assert ev.labelled and ev.bbox_info is None and ev.skipped.total == 0
    truth = tree / "reid" / "valid" / "bbox_info.json"
    truth.write_text("{}")
    assert ev.bbox_info == truth


def test_read_challenge_split_is_flat_and_unlabelled(tree: Path) -> None:
    ev = read_eval_split(tree, "challenge")
    assert [(s.bbox_idx, s.action_idx) for s in ev.gallery] == [(0, 0), (1, 0), (2, 1)]
    assert all(s.person_uid is None and s.clazz is None for s in (*ev.query, *ev.gallery))
    assert not ev.labelled
    assert "challenge" in EVAL_SPLITS


def test_unknown_or_missing_split(tree: Path) -> None:
    with pytest.raises(DataError, match="unknown evaluation split"):
        read_eval_split(tree, "train")
    with pytest.raises(DataError, match="split folder not found") as info:
        read_eval_split(tree, "test")
    assert info.value.path == tree / "reid" / "test" / "query"
    (tree / "reid" / "valid" / "gallery").rename(tree / "elsewhere")
    with pytest.raises(DataError, match="split folder not found") as info:
        read_eval_split(tree, "valid")
    assert info.value.path == tree / "reid" / "valid" / "gallery"


def _bad_png(path: Path, content: bytes) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(content)


# (relative parts of the bad entry, how to make it, kind, words of the problem)
BAD_CASES = {
    "malformed name": ((*TRAIN_A0, "garbage.png"), "png", "name", "1 '-'-separated fields"),
    "wrong field count": ((*TRAIN_A0, "20-0-10-0-Main_referee-7-8x4.png"), "png", "name", "has 7"),
    "non-integer index": (
        (*TRAIN_A0, name(20, 0, "10").replace("20-", "2a-", 1)),
        "png",
        "name",
        "bbox_idx '2a'",
    ),
    "malformed HxW": (
        (*TRAIN_A0, name(20, 0, "10").replace("8x4", "8by4")),
        "png",
        "name",
        "size field '8by4'",
    ),
    "not a png suffix": ((*TRAIN_A0, "notes.txt"), b"notes", "name", "is not a .png crop"),
    "zero-byte png": ((*TRAIN_A0, name(20, 0, "10")), b"", "png", "zero-byte PNG"),
    "corrupt png": (
        (*TRAIN_A0, name(20, 0, "10")),
        b"not an image at all, just bytes",
        "png",
        "bad signature",
    ),
    "action folder disagrees": (
        (*TRAIN_A0, name(20, 1, "12")),
        "png",
        "action",
        "action_idx 1 in the name disagrees",
    ),
    "action in two folders": (
        ("train", *GAME_B, "7", name(20, 0, "10")),
        "png",
        "action",
        "action_idx 0 also names",
    ),
    "file at the wrong depth": (
        ("train", "champ", name(20, 0, "10")),
        "png",
        "layout",
        "a file where a folder was expected",
    ),
    "folder where crops belong": (
        (*TRAIN_A0, "extra", name(20, 0, "10")),
        "png",
        "layout",
        "a folder where crop files were expected",
    ),
}


@pytest.mark.parametrize("case", list(BAD_CASES))
def test_bad_train_file_raises_or_is_skipped_and_counted(tree: Path, case: str) -> None:
    parts, content, kind, problem = BAD_CASES[case]
    path = tree.joinpath("reid", *parts)
    if content == "png":
        put(path)
    else:
        _bad_png(path, content)
    bad_entry = path.parent if kind == "layout" and "extra" in parts else path
    with pytest.raises(DataError) as info:
        read_train(tree)
    assert info.value.path == bad_entry
    assert problem in info.value.problem and SKIP_HINT in info.value.problem
    report = SkipReport()
    samples = read_train(tree, skip_bad=True, report=report)
    assert len(samples) == len(TRAIN)
    assert report.counts == {kind: 1} and report.examples[0][0] == bad_entry
    assert sorted({s.label for s in samples}) == list(range(len({s.label for s in samples})))


def test_duplicate_bbox_idx_names_both_files_and_skips_both(tree: Path) -> None:
    dup = put(tree.joinpath("reid", *TRAIN_A0, name(1, 0, "18")))
    with pytest.raises(DataError, match="bbox_idx 1 is also used by") as info:
        read_train(tree)
    assert dup.name in str(info.value)
    report = SkipReport()
    samples = read_train(tree, skip_bad=True, report=report)
    assert [s.bbox_idx for s in samples] == [0, 2, 3, 4, 5, 6, 7, 8, 10]
    assert report.counts == {"duplicate": 2}


def test_duplicates_across_query_and_gallery_are_fine_but_not_within(tree: Path) -> None:
    put(tree.joinpath("reid", "valid", "gallery", *GAME_A, "1", name(2, 1, "102", 20)))
    ev = read_eval_split(tree, "valid", skip_bad=True)
    assert [s.bbox_idx for s in ev.query] == [0, 1, 2]
    assert [s.bbox_idx for s in ev.gallery] == [0, 1, 3]  # bbox 2 twice in gallery
    assert ev.skipped.counts == {"duplicate": 2}


def test_challenge_rejects_labelled_names_and_nested_folders(tree: Path) -> None:
    put(tree / "reid" / "challenge" / "query" / name(5, 0, "1"))
    with pytest.raises(DataError, match="has 8 '-'-separated fields, expected bbox_idx"):
        read_eval_split(tree, "challenge")
    (tree / "reid" / "challenge" / "query" / name(5, 0, "1")).unlink()
    put(tree / "reid" / "challenge" / "gallery" / "sub" / "9-0-8x4.png")
    ev = read_eval_split(tree, "challenge", skip_bad=True)
    assert ev.skipped.counts == {"layout": 1} and len(ev.gallery) == 3


def test_empty_split_is_an_error_even_when_skipping(tree: Path) -> None:
    empty = tree / "empty"
    (empty / "reid" / "train" / "x" / "y" / "z" / "0").mkdir(parents=True)
    with pytest.raises(DataError, match="empty split") as info:
        read_train(empty)
    assert info.value.path == empty / "reid" / "train"
    _bad_png(empty.joinpath("reid", "train", "x", "y", "z", "0", name(0, 0, "1")), b"")
    with pytest.raises(DataError, match="empty split"):
        read_train(empty, skip_bad=True)


def test_unknown_class_is_accepted_and_logged_at_debug(
    tree: Path, caplog: pytest.LogCaptureFixture
) -> None:
    put(tree.joinpath("reid", *TRAIN_A0, name(20, 0, "19", clazz="Pedestrian")))
    logger = logging.getLogger("footreid.data.soccernet")
    logger.addHandler(caplog.handler)
    old_level = logger.level
    logger.setLevel(logging.DEBUG)
    try:
        samples = read_train(tree)
    finally:
        logger.removeHandler(caplog.handler)
        logger.setLevel(old_level)
    assert samples[-1].clazz == "Pedestrian"
    assert any(
        "Pedestrian" in r.getMessage() and r.levelno == logging.DEBUG for r in caplog.records
    )


def _actions(samples: list) -> list[int]:
    return sorted({s.action_idx for s in samples})


def test_prefix_subset_follows_the_official_rule(tree: Path) -> None:
    samples = read_train(tree)  # 4 actions: keep action_idx < f * 4
    assert _actions(subset_by_actions(samples, 0.5, mode="prefix")) == [0, 1]
    assert _actions(subset_by_actions(samples, 0.3, mode="prefix")) == [0, 1]  # 1 < 1.2
    assert _actions(subset_by_actions(samples, 0.25, mode="prefix")) == [0]
    kept = subset_by_actions(samples, 0.5, mode="prefix")
    assert [s.label for s in kept] == [0, 1, 0, 2, 3]
    assert subset_by_actions(samples, 1.0, mode="prefix") == samples


def test_random_subset_is_seeded_and_relabelled(tree: Path) -> None:
    samples = read_train(tree)
    draws = {tuple(_actions(subset_by_actions(samples, 0.5, seed=s))) for s in range(12)}
    assert all(len(d) == 2 for d in draws) and len(draws) > 1
    again = subset_by_actions(samples, 0.5, seed=3)
    assert again == subset_by_actions(samples, 0.5, seed=3)
    labels = sorted({s.label for s in again})
    assert labels == list(range(len(labels)))
    assert len(subset_by_actions(samples, 0.01)) > 0  # at least one action


def test_subset_of_eval_samples_keeps_labels_and_errors(tree: Path) -> None:
    query = read_eval_split(tree, "valid").query
    assert [s.label for s in subset_by_actions(query, 0.5, mode="prefix")] == [-1, -1]
    for fraction in (0.0, 1.5, -0.1):
        with pytest.raises(ConfigError, match="fraction"):
            subset_by_actions(query, fraction)
    with pytest.raises(ConfigError, match="unknown subset mode"):
        subset_by_actions(query, 0.5, mode="first")  # type: ignore[arg-type]
    assert subset_by_actions([], 0.5) == []


def test_relabel_numbers_by_first_appearance(tree: Path) -> None:
    samples = read_train(tree)[::-1]
    assert [s.label for s in relabel(samples)] == [0, 1, 0, 2, 3, 4, 5, 6, 7, 6]


def test_mot20_counts(mot20_root: Path) -> None:
    train = read_train(mot20_root)
    assert len(train) == 2039
    assert len({s.person_uid for s in train}) == 267 == max(s.label for s in train) + 1
    assert len({s.action_idx for s in train}) == 11
    assert {s.clazz for s in train} == {"Pedestrian"}
    valid = read_eval_split(mot20_root, "valid")
    assert (len(valid.query), len(valid.gallery)) == (118, 666)
    assert len({s.action_idx for s in (*valid.query, *valid.gallery)}) == 30
    assert valid.bbox_info == mot20_root / "reid" / "valid" / "bbox_info.json"
    assert [s.bbox_idx for s in valid.gallery] == list(range(666))
