"""footreid track: the BoxMOT adapter, frame selection, cuts, the tracking pass and the CLI."""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
import pytest
from tiny_mot import LENGTH, write_tiny_frames, write_tiny_sequence

import footreid
from footreid.core.errors import ConfigError, DataError, RegistryError
from footreid.track.appearance import FootreidAppearance, crop_boxes, crop_quality
from footreid.track.cuts import box_continuity, detect_cuts, picture_spikes
from footreid.track.detections import detections_from_file, detections_from_gt
from footreid.track.mot import rows_from_columns, write_mot_rows
from footreid.track.pipeline import TrackPlan, track_clip
from footreid.track.trackers import TRACKERS, build_tracker
from footreid.track.video import open_frames, read_frames


@pytest.fixture(scope="module")
def encoder() -> footreid.api.Encoder:
    return footreid.load("osnet_x0_25", device="cpu", precision="fp32", flip_tta=False)


@pytest.fixture()
def sequence(tmp_path: Path) -> Path:
    return write_tiny_frames(write_tiny_sequence(tmp_path / "S"))


def _frame() -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(0)
    image = rng.integers(0, 255, (360, 640, 3), dtype=np.uint8)
    boxes = np.array([[10, 20, 50, 120, 0.9, 0], [200, 40, 240, 150, 0.8, 0]], np.float32)
    return image, boxes


def test_adapter_gives_boxmot_footreid_features(encoder) -> None:
    image, boxes = _frame()
    crops = [image[20:120, 10:50], image[40:150, 200:240]]
    expected = encoder.embed(crops, bgr=True)
    tracker = build_tracker("botsort", 25, FootreidAppearance([encoder]))
    tracker.update(boxes, image)
    stored = np.stack([t.curr_feat for t in tracker.active_tracks])
    order = np.argsort([t.det_ind for t in tracker.active_tracks])
    assert np.abs(stored[order] - expected).max() < 1e-6


def test_adapter_ensemble_is_mean_of_cosines(encoder) -> None:
    hsv = footreid.load("hsv", device="cpu", precision="fp32", flip_tta=False)
    image, boxes = _frame()
    both = FootreidAppearance([encoder, hsv]).get_features(boxes, image)
    a = FootreidAppearance([encoder]).get_features(boxes, image)
    b = FootreidAppearance([hsv]).get_features(boxes, image)
    assert np.allclose(both @ both.T, (a @ a.T + b @ b.T) / 2, atol=1e-5)


def test_adapter_embeds_a_frame_once(encoder, monkeypatch) -> None:
    image, boxes = _frame()
    app = FootreidAppearance([encoder])
    first = app.get_features(boxes, image)
    monkeypatch.setattr(encoder, "embed", lambda *a, **k: pytest.fail("embedded twice"))
    assert app.get_features(boxes.copy(), image) is first


def test_crops_are_clipped_to_the_frame() -> None:
    image = np.zeros((100, 200, 3), np.uint8)
    crops = crop_boxes(image, np.array([[-10, -5, 30, 40], [190, 90, 260, 150], [50, 50, 50, 50]]))
    assert [c.shape[:2] for c in crops] == [(40, 30), (10, 10), (1, 1)]


def test_crop_quality_counts_the_covered_share() -> None:
    boxes = np.array([[0, 0, 10, 10], [5, 0, 15, 10], [100, 100, 110, 110]], np.float32)
    assert np.allclose(crop_quality(boxes), [0.5, 0.5, 1.0])


def test_tracker_registry_and_refusals() -> None:
    assert {"botsort", "strongsort", "deepocsort", "ocsort", "bytetrack"} <= set(TRACKERS)
    with pytest.raises(RegistryError, match="bytetrack"):
        build_tracker("bytetrak", 25, None)
    with pytest.raises(ConfigError, match="needs a ReID model"):
        build_tracker("strongsort", 25, None)


def test_frames_are_read_as_selected(sequence: Path) -> None:
    source = open_frames(sequence)
    assert source.info.length == LENGTH
    numbers = [n for n, _ in read_frames(source, [1, 2, 7])]
    assert numbers == [1, 2, 7]


def test_video_frames_are_read_as_selected(tmp_path: Path) -> None:
    path = tmp_path / "clip.avi"
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"MJPG"), 25, (64, 48))
    for value in range(8):
        writer.write(np.full((48, 64, 3), value * 30, np.uint8))
    writer.release()
    source = open_frames(path)
    assert source.info.length == 8 and source.info.fps == pytest.approx(25)
    got = [(n, int(round(img.mean() / 30))) for n, img in read_frames(source, [2, 5, 8])]
    assert got == [(2, 1), (5, 4), (8, 7)]
    with pytest.raises(DataError, match="ends at frame 8"):
        list(read_frames(source, [9]))


def test_bad_sources_name_the_path(tmp_path: Path) -> None:
    with pytest.raises(DataError, match="no such"):
        open_frames(tmp_path / "missing")
    (tmp_path / "notes.txt").write_text("x")
    with pytest.raises(DataError, match="notes.txt: not a video"):
        open_frames(tmp_path / "notes.txt")


def test_detections_from_gt_drop_the_ball_and_ids(sequence: Path) -> None:
    dets = detections_from_gt(sequence)
    assert len(dets) == LENGTH and all(d.shape == (2, 5) for d in dets.values())
    assert np.allclose(dets[1][0], [2, 100, 32, 180, 1])


def test_detection_file_keeps_repeated_minus_one_ids(tmp_path: Path) -> None:
    path = tmp_path / "det.txt"
    write_mot_rows(
        path, rows_from_columns([[1, -1, 0, 0, 10, 20, 0.9], [1, -1, 50, 0, 10, 20, 0.2]])
    )
    assert detections_from_file(path)[1].shape == (2, 5)
    assert detections_from_file(path, min_confidence=0.5)[1].shape == (1, 5)


def test_picture_spikes_and_box_jumps_make_cuts() -> None:
    change = np.array([0, 3, 3.2, 2.9, 3.1, 14, 3, 3.3, 2.8, 3, 3, 3.1])
    spikes = picture_spikes(change)
    assert spikes[5] > 4 and np.delete(spikes, 5).max() < 1.5
    continuity = np.ones(len(change))
    continuity[9] = 0.05
    assert detect_cuts(change, continuity) == [5, 9]
    a = np.array([[0, 0, 10, 20], [100, 0, 10, 20]], float)
    assert box_continuity(a, a + [1, 0, 0, 0]) > 0.8
    assert box_continuity(a, a + [60, 0, 0, 0]) == 0.0


def test_track_clip_with_frames_as_one_stream(sequence: Path) -> None:
    plan = TrackPlan(sequence, tracker="bytetrack", reid=("hsv",), frames="1-3,7-10")
    result = track_clip(plan)
    assert result.output.frames == [1, 2, 3, 7, 8, 9, 10]
    assert set(np.unique(result.rows[:, 0])) <= set(result.output.frames)
    assert result.output.features.shape[0] == len(result.rows)


def test_plan_refusals(sequence: Path) -> None:
    with pytest.raises(ConfigError, match="--link needs a ReID model"):
        track_clip(TrackPlan(sequence, link=True))
    with pytest.raises(ConfigError, match="strongsort' needs a ReID model"):
        track_clip(TrackPlan(sequence, tracker="strongsort"))


def test_strip_draws_a_grid_of_frames(sequence: Path, tmp_path: Path) -> None:
    from footreid.track.draw import draw_strip, strip_frames

    rows = np.array([[2, 7, 10, 10, 30, 60, 1], [5, 8, 100, 10, 30, 60, 1]], dtype=np.float64)
    path = draw_strip(open_frames(sequence), rows, [2, 5, 9], tmp_path / "s.jpg", 320, columns=2)
    image = cv2.imread(str(path))
    assert image.shape == (2 * 180, 2 * 320, 3)
    assert strip_frames(list(range(1, 21)), cuts=[4]) == [4, 10]
    assert strip_frames(list(range(1, 11)), cuts=[], count=4) == [1, 4, 7, 10]


def test_track_clip_from_a_video_and_a_detection_file(sequence: Path, tmp_path: Path) -> None:
    video = tmp_path / "clip.avi"
    writer = cv2.VideoWriter(str(video), cv2.VideoWriter_fourcc(*"MJPG"), 25, (640, 360))
    for frame in range(1, LENGTH + 1):
        writer.write(cv2.imread(str(sequence / "img1" / f"{frame:06d}.jpg")))
    writer.release()
    boxes = detections_from_gt(sequence)
    det_rows = [[f, -1, *b[:2], *(b[2:4] - b[:2]), 0.9] for f, d in boxes.items() for b in d]
    write_mot_rows(tmp_path / "det.txt", rows_from_columns(det_rows))
    plan = TrackPlan(video, detections=tmp_path / "det.txt", tracker="botsort", reid=("hsv",))
    result = track_clip(plan)
    assert result.output.frames == list(range(1, LENGTH + 1))
    # two players, each one track from the third frame on (BoT-SORT confirms after a few hits)
    assert len(np.unique(result.rows[:, 1])) == 2
