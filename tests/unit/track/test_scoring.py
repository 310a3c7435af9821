"""Scoring tracks with TrackEval: hand-computed cases, the official route, the real sequence."""

from __future__ import annotations

import contextlib
import io
from pathlib import Path

import numpy as np
import pytest
from tiny_mot import BALL_ID, LENGTH, ball_rows, moving_rows, people_rows, write_tiny_sequence

from footreid.core.errors import DataError
from footreid.track.mot import parse_frame_ranges, read_mot_rows, rows_from_columns, write_mot_rows
from footreid.track.scoring import score_tracks

pytest.importorskip("trackeval", reason="TrackEval comes with the 'track' extra")


@pytest.fixture
def seq(tmp_path: Path) -> Path:
    """A 10-frame sequence: players 1 and 2 in every frame, and the ball (id 3)."""
    return write_tiny_sequence(tmp_path / "S")


def test_people_of_the_gt_score_perfectly(seq: Path) -> None:
    scores = score_tracks(seq, people_rows())
    assert (scores.hota, scores.deta, scores.assa, scores.idf1, scores.mota) == (1, 1, 1, 1, 1)
    assert scores.id_switches == 0
    assert (scores.num_gt_ids, scores.num_pred_ids, scores.num_frames) == (2, 2, LENGTH)
    assert scores.dropped_gt_ids == (3,)


def test_one_id_switch_halfway(seq: Path) -> None:
    """Player 1 tracked as id 7 for frames 1-5, then as id 8 for 6-10; player 2 right.

    IDF1: the best one-to-one map is 1->7, 2->2: IDTP 5 + 10, IDFN 5 (player 1's frames
    6-10), IDFP 5 (id 8): 15 / (15 + 2.5 + 2.5) = 0.75. HOTA: every box matches (DetA 1);
    each of player 1's 10 matches has association 5 / (5 + 5 + 0) = 0.5 and player 2's
    have 1, so AssA = (10 * 0.5 + 10 * 1) / 20 = 0.75 and HOTA = sqrt(0.75).
    """
    pred = np.concatenate(
        [moving_rows(7, 0, range(1, 6)), moving_rows(8, 0, range(6, 11)), people_rows()[10:]]
    )
    scores = score_tracks(seq, pred)
    assert scores.idf1 == pytest.approx(0.75)
    assert scores.id_switches == 1
    assert scores.deta == pytest.approx(1.0)
    assert scores.assa == pytest.approx(0.75)
    assert scores.hota == pytest.approx(np.sqrt(0.75))
    assert scores.num_pred_ids == 3


def test_ball_is_dropped_from_the_gt_and_predictions_are_scored_as_they_are(seq: Path) -> None:
    """A tracked ball is 10 false positives: IDF1 = 20 / (20 + 0.5 * 10) = 0.8."""
    scores = score_tracks(seq, np.concatenate([people_rows(), ball_rows()]))
    assert scores.num_gt_ids == 2 and scores.num_gt_rows == 2 * LENGTH
    assert scores.num_pred_ids == 3
    assert scores.idf1 == pytest.approx(0.8)
    assert scores.assa == pytest.approx(1.0) and scores.deta < 1


def test_zero_marked_gt_rows_are_ignored(seq: Path) -> None:
    gt = read_mot_rows(seq / "gt" / "gt.txt")
    gt["conf"][gt["frame"] == 1] = 0
    write_mot_rows(seq / "gt" / "gt.txt", gt)
    scores = score_tracks(seq, people_rows(range(2, LENGTH + 1)))
    assert scores.idf1 == 1 and scores.num_gt_rows == 2 * (LENGTH - 1)


def test_frames_restrict_both_sides(seq: Path) -> None:
    """The tracker ran on frames 1-3 and 8-10 only (a cut)."""
    frames = parse_frame_ranges("1-3,8-10")
    pred = np.concatenate([people_rows(range(1, 4)), people_rows(range(8, 11))])
    cut = score_tracks(seq, pred, frames)
    assert (cut.hota, cut.idf1, cut.num_frames, cut.num_gt_rows) == (1, 1, 6, 12)
    # scored on every frame, the 8 gt boxes of frames 4-7 are missed: 12 / (12 + 4)
    assert score_tracks(seq, pred).idf1 == pytest.approx(0.75)
    # predictions on frames outside the selection are left out and counted
    whole = score_tracks(seq, people_rows(), frames)
    assert whole.idf1 == 1 and whole.dropped_pred_rows == 8


def test_tracks_as_file_rows_or_columns_agree(seq: Path, tmp_path: Path) -> None:
    pred = np.concatenate(
        [moving_rows(7, 0, range(1, 6)), moving_rows(8, 3, range(6, 11)), people_rows()[10:]]
    )
    write_mot_rows(tmp_path / "tracks.txt", pred)
    assert score_tracks(seq, tmp_path / "tracks.txt") == score_tracks(seq, pred)
    columns = np.stack([pred[name] for name in pred.dtype.names], axis=1)
    assert score_tracks(seq, columns) == score_tracks(seq, pred)


def _official(seq: Path, pred: np.ndarray, tmp_path: Path) -> dict[str, float]:
    """TrackEval's own route: MotChallenge2DBox on a folder layout, preprocessing off."""
    import trackeval

    gt_root, trackers = tmp_path / "official" / "gt", tmp_path / "official" / "trackers"
    gt = read_mot_rows(seq / "gt" / "gt.txt")
    write_mot_rows(gt_root / "S" / "gt" / "gt.txt", gt[gt["track_id"] != BALL_ID])
    (gt_root / "S" / "seqinfo.ini").write_text((seq / "seqinfo.ini").read_text())
    write_mot_rows(trackers / "t" / "data" / "S.txt", pred)
    dataset = {
        "GT_FOLDER": str(gt_root),
        "TRACKERS_FOLDER": str(trackers),
        "SKIP_SPLIT_FOL": True,
        "SEQ_INFO": {"S": LENGTH},
        "TRACKERS_TO_EVAL": ["t"],
        "DO_PREPROC": False,
        "PRINT_CONFIG": False,
    }
    evaluator = {"USE_PARALLEL": False, "PRINT_CONFIG": False, "PRINT_RESULTS": False}
    evaluator |= {"OUTPUT_SUMMARY": False, "OUTPUT_DETAILED": False, "PLOT_CURVES": False}
    evaluator |= {"TIME_PROGRESS": False, "DISPLAY_LESS_PROGRESS": True}
    metrics = [trackeval.metrics.HOTA(), trackeval.metrics.CLEAR(), trackeval.metrics.Identity()]
    with contextlib.redirect_stdout(io.StringIO()):
        results, _ = trackeval.Evaluator(evaluator).evaluate(
            [trackeval.datasets.MotChallenge2DBox(dataset)], metrics
        )
    res = results["MotChallenge2DBox"]["t"]["S"]["pedestrian"]
    return {
        "hota": float(np.mean(res["HOTA"]["HOTA"])),
        "assa": float(np.mean(res["HOTA"]["AssA"])),
        "idf1": float(res["Identity"]["IDF1"]),
        "id_switches": int(res["CLEAR"]["IDSW"]),
    }


def test_matches_trackeval_on_its_own_folder_route(seq: Path, tmp_path: Path) -> None:
    rng = np.random.default_rng(0)
    pred = np.concatenate(
        [moving_rows(7, 0, range(1, 6)), moving_rows(8, 0, range(4, 11)), people_rows()[10:]]
    )
    pred["x"] += rng.normal(0, 6, len(pred))  # IoUs spread over HOTA's thresholds
    pred = pred[rng.random(len(pred)) > 0.1]
    official = _official(seq, pred, tmp_path)
    mine = score_tracks(seq, pred)  # the same numbers: written files read back exactly
    assert 0 < mine.hota < 1
    for name, value in official.items():
        assert getattr(mine, name) == pytest.approx(value, abs=1e-12), name


@pytest.mark.parametrize(
    ("damage", "problem"),
    [
        ("gameinfo", "gameinfo.ini: missing"),
        ("unnamed", "no trackletID_N line for gt ids \\[5\\]"),
        ("gt", "gt.txt: missing"),
        ("late", "frame 11 is beyond the sequence's 10 frames"),
    ],
)
def test_bad_sequence_files_are_named(seq: Path, damage: str, problem: str) -> None:
    if damage == "gameinfo":
        (seq / "gameinfo.ini").unlink()
    elif damage == "gt":
        (seq / "gt" / "gt.txt").unlink()
    else:
        frame, track_id = (11, 3) if damage == "late" else (1, 5)
        extra = rows_from_columns([[frame, track_id, 0, 0, 5, 5, 1]])
        write_mot_rows(seq / "gt" / "gt.txt", np.concatenate([people_rows(), extra]))
    with pytest.raises(DataError, match=problem):
        score_tracks(seq, people_rows())


def test_bad_tracks_are_named(seq: Path, tmp_path: Path) -> None:
    with pytest.raises(DataError, match="beyond the sequence's 10 frames"):
        score_tracks(seq, people_rows(range(1, 12)))
    with pytest.raises(DataError, match="appears more than once"):
        score_tracks(seq, np.concatenate([people_rows(), people_rows()]))
    with pytest.raises(DataError, match="missing"):
        score_tracks(seq, tmp_path / "absent.txt")
    with pytest.raises(DataError, match="frames must lie in 1..10"):
        score_tracks(seq, people_rows(), [9, 10, 11])
    with pytest.raises(DataError, match="frames must lie in 1..10"):
        score_tracks(seq, people_rows(), [])


@pytest.fixture(scope="module")
def snmot_a(shared_dir: Path) -> Path:
    root = shared_dir / "data" / "snmot-track" / "SNMOT-116-A"
    if not (root / "gt" / "gt.txt").is_file():
        pytest.skip(f"{root} is absent")
    return root


@pytest.mark.shared
def test_real_gt_people_as_tracks_score_100(snmot_a: Path) -> None:
    gt = read_mot_rows(snmot_a / "gt" / "gt.txt")
    people = gt[gt["track_id"] != 20]
    scores = score_tracks(snmot_a, people)
    assert (scores.hota, scores.deta, scores.assa, scores.idf1) == (1, 1, 1, 1)
    assert scores.id_switches == 0
    assert (scores.num_gt_ids, scores.num_pred_ids, scores.dropped_gt_ids) == (19, 19, (20,))
    cuts = score_tracks(snmot_a, people, parse_frame_ranges("1-125,176-250,301-375"))
    assert (cuts.hota, cuts.idf1, cuts.num_frames) == (1, 1, 275)


@pytest.mark.shared
def test_real_gt_file_as_tracks_pays_for_theball_rows(snmot_a: Path) -> None:
    scores = score_tracks(snmot_a, snmot_a / "gt" / "gt.txt")
    assert scores.num_pred_ids == 20 and scores.num_gt_ids == 19
    assert scores.assa == 1 and scores.idr == 1 and scores.idf1 < 0.98
