"""The synthetic football generator: SoccerNet layout, labels, determinism, atomic writes."""

from __future__ import annotations

import hashlib
import json
import math
from collections import defaultdict
from pathlib import Path

import numpy as np
import pytest
from PIL import Image
from typer.testing import CliRunner

from footreid.core.errors import DataError, RegistryError
from footreid.core.records import Sample
from footreid.data import synthetic
from footreid.data.grammar import KNOWN_CLASSES
from footreid.data.soccernet import read_eval_split, read_train
from footreid.data.synthetic import generate, read_summary
from footreid.data.synthetic_kits import make_game
from footreid.data.synthetic_plan import _letters, rng_for
from footreid.data.synthetic_render import MIN_WIDTH, CropRequest, render_crop
from footreid.data.synthetic_skeleton import Pose


def _all_samples(root: Path) -> dict[str, list[Sample]]:
    lists = {"train": read_train(root)}
    for split in ("valid", "test", "challenge"):
        data = read_eval_split(root, split)
        lists[f"{split}/query"], lists[f"{split}/gallery"] = data.query, data.gallery
    return lists


@pytest.fixture(scope="module")
def samples(tiny_root: Path) -> dict[str, list[Sample]]:
    return _all_samples(tiny_root)


def _tree_digest(root: Path) -> dict[str, str]:
    """SHA-256 of every file except the summary (it records the generation time)."""
    return {
        str(p.relative_to(root)): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(root.rglob("*"))
        if p.is_file() and p.name != synthetic.SUMMARY_FILE
    }


def test_loader_reads_the_counts_of_the_summary(tiny_root: Path, samples: dict) -> None:
    counts = read_summary(tiny_root)["counts"]
    assert len(samples["train"]) == counts["train"]["crops"] >= 150
    for split in ("valid", "test", "challenge"):
        assert len(samples[f"{split}/query"]) == counts[split]["queries"] > 0
        assert len(samples[f"{split}/gallery"]) == counts[split]["gallery"] > 0
        actions = {s.action_idx for s in samples[f"{split}/query"] + samples[f"{split}/gallery"]}
        assert actions == set(range(counts[split]["actions"]))
    train = samples["train"]
    assert sorted({s.label for s in train}) == list(range(counts["train"]["identities"]))
    assert [s.bbox_idx for s in train] == list(range(len(train)))


def test_labels_follow_the_soccernet_rules(samples: dict) -> None:
    uid_action: dict[str, tuple[str, int]] = {}
    for name, items in samples.items():
        if name.startswith("challenge"):
            assert all(s.person_uid is None for s in items)  # flat 3-field names
            continue
        split = name.split("/")[0]
        for s in items:
            assert s.clazz in KNOWN_CLASSES and "-" not in s.uai
            assert 40 <= s.height <= 300 and s.width >= MIN_WIDTH
            # a person_uid is one player in one action, unique over the whole dataset
            assert uid_action.setdefault(s.person_uid, (split, s.action_idx)) == (
                split,
                s.action_idx,
            )
    for split in ("train", "valid", "test"):
        items = (
            samples["train"]
            if split == "train"
            else samples[f"{split}/query"] + samples[f"{split}/gallery"]
        )
        frames, ids = defaultdict(set), defaultdict(set)
        for s in items:
            frames[s.person_uid].add(s.frame_idx)
            ids[s.person_uid].add(s.id)
        for uid, seen in frames.items():
            (id_,) = ids[uid]  # one id per person in an action
            assert (id_ == "None") == (len(seen) == 1)
            assert id_ == "None" or id_.isdigit() or id_.isalpha()


def test_queries_are_live_crops_with_a_replay_match(samples: dict) -> None:
    for split in ("valid", "test"):
        query, gallery = samples[f"{split}/query"], samples[f"{split}/gallery"]
        live = defaultdict(set)
        for s in query:
            live[s.action_idx].add(s.frame_idx)
        assert all(len(frames) == 1 for frames in live.values())  # one live frame
        gallery_uids = defaultdict(set)
        for s in gallery:
            gallery_uids[s.action_idx].add(s.person_uid)
        for s in query:
            assert s.person_uid in gallery_uids[s.action_idx]
        query_uids = {(s.action_idx, s.person_uid) for s in query}
        for s in gallery:  # live crops in the gallery are the unmatched distractors
            if s.frame_idx in live[s.action_idx]:
                assert (s.action_idx, s.person_uid) not in query_uids
        per_action = len(gallery) / len(live)
        assert 8 < per_action < 40 and 2 < len(query) / len(live) < 12


def test_bbox_info_is_the_official_format(tiny_root: Path, samples: dict) -> None:
    for split in ("valid", "test"):
        gt = json.loads((tiny_root / "reid" / split / "bbox_info.json").read_text())
        for role in ("query", "gallery"):
            items = samples[f"{split}/{role}"]
            assert list(gt[role]) == [str(s.bbox_idx) for s in items]
            for s in items:
                rec = gt[role][str(s.bbox_idx)]
                assert (
                    tiny_root / "reid" / split / rec["relative_path"]
                ).resolve() == s.path.resolve()
                assert (rec["action_idx"], rec["person_uid"], rec["frame_idx"], rec["clazz"]) == (
                    s.action_idx, s.person_uid, s.frame_idx, s.clazz)  # fmt: skip
                assert (rec["id"], rec["UAI"], type(rec["person_uid"])) == (s.id, s.uai, str)


def test_official_evaluator_scores_a_perfect_ranking(tiny_root: Path, tmp_path: Path) -> None:
    from SoccerNet.Evaluation.ReIdentification import evaluate

    gt_path = tiny_root / "reid" / "valid" / "bbox_info.json"
    gt = json.loads(gt_path.read_text())
    ranking = {}
    for key, q in gt["query"].items():
        same = [g for g in gt["gallery"].values() if g["action_idx"] == q["action_idx"]]
        same.sort(key=lambda g: (g["person_uid"] != q["person_uid"], g["bbox_idx"]))
        ranking[key] = [g["bbox_idx"] for g in same]
    (tmp_path / "ranking.json").write_text(json.dumps(ranking))
    metrics = evaluate(str(gt_path), str(tmp_path / "ranking.json"))
    assert metrics["mAP"] == pytest.approx(1.0) and metrics["rank-1"] == pytest.approx(1.0)


def test_challenge_labels_and_identities_are_side_files(tiny_root: Path, samples: dict) -> None:
    gt = json.loads((tiny_root / synthetic.CHALLENGE_GT_FILE).read_text())
    for role in ("query", "gallery"):
        items = samples[f"challenge/{role}"]
        assert [gt[role][str(s.bbox_idx)]["action_idx"] for s in items] == [
            s.action_idx for s in items
        ]
        assert all(s.path.parent.name == role for s in items)
    hidden = json.loads((tiny_root / synthetic.IDENTITIES_FILE).read_text())["splits"]
    people_per_uid, uids_per_person = defaultdict(set), defaultdict(set)
    for name, items in samples.items():
        split = name.split("/")[0]
        for s in items:
            key = hidden[split][s.path.relative_to(tiny_root / "reid" / split).as_posix()]
            if s.person_uid is not None:
                people_per_uid[s.person_uid].add(key)
                uids_per_person[key].add(s.person_uid)
    assert all(len(keys) == 1 for keys in people_per_uid.values())
    assert max(len(uids) for uids in uids_per_person.values()) > 1  # new uid in each action


def test_images_match_their_names(samples: dict) -> None:
    for items in samples.values():
        for s in items[:: max(1, len(items) // 15)]:
            with Image.open(s.path) as image:
                assert image.mode == "RGB" and (image.height, image.width) == (s.height, s.width)
                pixels = np.asarray(image, dtype=np.float32)
            assert pixels.std() > 5.0  # not a blank crop


def test_rerun_gives_identical_bytes_with_any_worker_count(tiny_root: Path, tmp_path: Path) -> None:
    again = generate(tmp_path / "again", preset="tiny", seed=0, workers=2)
    assert _tree_digest(again) == _tree_digest(tiny_root)


def test_render_is_seeded_and_sized() -> None:
    game = make_game(rng_for(0, "valid", 0, 0), "valid", 0)
    from footreid.data.synthetic_plan import _look

    look = _look(np.random.default_rng(1), game, live=False)
    pose = Pose(facing=math.pi, phase=1.0, stride=0.6, lean=0.1)
    request = CropRequest(game.teams[0][0], pose, 120, look, game.teams[1][0], pose, (5, 1, 2))
    first, second = render_crop(request), render_crop(request)
    assert first.shape[0] == 120 and first.shape[1] >= MIN_WIDTH and first.dtype == np.uint8
    assert np.array_equal(first, second)
    other = render_crop(CropRequest(game.teams[0][0], pose, 120, look, None, None, (5, 1, 3)))
    assert not np.array_equal(first, other)
    assert Pose(0.0, 0, 0, 0).number_visible and not Pose(math.pi / 2, 0, 0, 0).number_visible


def test_letters() -> None:
    assert [_letters(i) for i in (0, 1, 25, 26, 27)] == ["a", "b", "z", "aa", "ab"]


def test_running_twice_reuses_and_a_different_dataset_is_refused(
    tiny_root: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    def no_build(*args: object) -> None:
        raise AssertionError("the complete dataset should have been reused")

    monkeypatch.setattr(synthetic, "_build", no_build)
    assert generate(tiny_root, preset="tiny", seed=0) == tiny_root
    with pytest.raises(DataError, match="overwrite"):
        generate(tiny_root, preset="tiny", seed=1)
    with pytest.raises(RegistryError, match="tiny"):
        generate(tiny_root, preset="tinny")


def _fake_build(root: Path, preset: str, seed: int, workers: int) -> dict:
    (root / "reid").mkdir()
    summary = {"preset": preset, "seed": seed, "version": synthetic.GENERATOR_VERSION}
    (root / synthetic.SUMMARY_FILE).write_text(json.dumps(summary))
    return {**summary, "total_crops": 0, "generation_seconds": 0.0}


def test_overwrite_replaces_other_files_atomically(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(synthetic, "_build", _fake_build)
    out = tmp_path / "data"
    out.mkdir()
    (out / "notes.txt").write_text("keep me")
    with pytest.raises(DataError, match="other files"):
        generate(out, preset="tiny", seed=3)
    assert (out / "notes.txt").exists()
    generate(out, preset="tiny", seed=3, overwrite=True)
    assert not (out / "notes.txt").exists() and read_summary(out)["seed"] == 3
    assert sorted(p.name for p in tmp_path.iterdir()) == ["data"]  # no temp folders left


def test_a_failed_run_leaves_nothing(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    def broken(root: Path, *args: object) -> None:
        (root / "reid").mkdir()
        raise RuntimeError("disk full")

    monkeypatch.setattr(synthetic, "_build", broken)
    with pytest.raises(RuntimeError, match="disk full"):
        generate(tmp_path / "data", preset="tiny")
    assert list(tmp_path.iterdir()) == []
    (tmp_path / "file").write_text("x")
    with pytest.raises(DataError, match="not a folder"):
        generate(tmp_path / "file")


def test_cli_prints_the_summary(tiny_root: Path) -> None:
    from footreid.cli.main import app

    result = CliRunner().invoke(app, ["synth", str(tiny_root), "--preset", "tiny", "--seed", "0"])
    assert result.exit_code == 0, result.output
    counts = read_summary(tiny_root)["counts"]
    assert "valid" in result.output and str(counts["train"]["crops"]) in result.output
