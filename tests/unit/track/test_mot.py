"""MOT files: seqinfo.ini, gameinfo.ini, gt / tracks rows, frame ranges."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from footreid.core.errors import ConfigError, DataError
from footreid.track.mot import (
    MOT_DTYPE,
    as_rows,
    parse_frame_ranges,
    person_ids,
    read_gameinfo,
    read_mot_rows,
    read_seqinfo,
    rows_from_columns,
    select_frames,
    write_mot_rows,
)

SEQINFO = "[Sequence]\nname=S\nimDir=img1\nframeRate=25\nseqLength=10\nimWidth=64\nimHeight=48\n"
GAMEINFO = (
    "[Sequence]\nname=S\nnum_tracklets=4\n"
    "trackletID_1= player team left;4\ntrackletID_2= goalkeepers team right;1\n"
    "trackletID_3= ball;1\ntrackletID_4= referee;side bottom\n"
)


def test_read_seqinfo(tmp_path: Path) -> None:
    (tmp_path / "seqinfo.ini").write_text(SEQINFO)
    info = read_seqinfo(tmp_path)
    assert (info.name, info.length, info.fps, info.width, info.height) == ("S", 10, 25.0, 64, 48)
    assert (info.im_dir, info.im_ext) == ("img1", ".jpg")


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        (None, "missing"),
        ("[Other]\nx=1\n", r"no \[Sequence\] section"),
        ("[Sequence]\nseqLength=10\nimWidth=64\n", "lacks imHeight"),
        ("[Sequence]\nseqLength=ten\nimWidth=64\nimHeight=48\n", "not a number"),
        ("not an ini file", "not a readable .ini"),
    ],
)
def test_read_seqinfo_names_the_file_and_problem(
    tmp_path: Path, text: str | None, problem: str
) -> None:
    if text is not None:
        (tmp_path / "seqinfo.ini").write_text(text)
    with pytest.raises(DataError, match=problem) as info:
        read_seqinfo(tmp_path)
    assert info.value.path == tmp_path / "seqinfo.ini"


def test_read_gameinfo_roles_teams_and_people(tmp_path: Path) -> None:
    (tmp_path / "gameinfo.ini").write_text(GAMEINFO)
    tracks = read_gameinfo(tmp_path)
    assert (tracks[1].role, tracks[1].team, tracks[1].label) == ("player", "left", "4")
    assert (tracks[2].role, tracks[2].team) == ("goalkeepers", "right")
    assert (tracks[4].role, tracks[4].team, tracks[4].label) == ("referee", None, "side bottom")
    assert not tracks[3].is_person
    assert person_ids(tracks) == {1, 2, 4}


@pytest.mark.parametrize(
    ("line", "problem"),
    [
        ("trackletID_x= player;4", "trackletID_<integer>"),
        ("trackletID_1= player team left", "role"),
    ],
)
def test_read_gameinfo_refuses_malformed_lines(tmp_path: Path, line: str, problem: str) -> None:
    (tmp_path / "gameinfo.ini").write_text(f"[Sequence]\n{line}\n")
    with pytest.raises(DataError, match=problem):
        read_gameinfo(tmp_path)


def test_read_gameinfo_needs_tracklet_lines(tmp_path: Path) -> None:
    (tmp_path / "gameinfo.ini").write_text("[Sequence]\nname=S\n")
    with pytest.raises(DataError, match="no trackletID_N"):
        read_gameinfo(tmp_path)


def test_read_mot_rows_fields_and_defaults(tmp_path: Path) -> None:
    path = tmp_path / "t.txt"
    path.write_text("1,7,10.5,20,30,40,0.9,-1,-1,-1\n\n2 7.0 11 21 30 40\n")
    rows = read_mot_rows(path)
    assert rows.dtype == MOT_DTYPE
    assert rows["frame"].tolist() == [1, 2] and rows["track_id"].tolist() == [7, 7]
    assert rows["x"].tolist() == [10.5, 11.0] and rows["conf"].tolist() == [0.9, 1.0]


def test_read_mot_rows_empty_file(tmp_path: Path) -> None:
    (tmp_path / "t.txt").write_text("")
    assert len(read_mot_rows(tmp_path / "t.txt")) == 0


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        ("1,2,3,4,5\n", "line 1: 5 fields"),
        ("1,2,3,4,5,6\n1,a,3,4,5,6\n", "line 2: not numbers"),
        ("1,2.5,3,4,5,6\n", "must be integers"),
        ("0,2,3,4,5,6\n", "frame \\(>= 1\\)"),
        ("1,2,3,4,-5,6\n", "negative box"),
        ("1,2,3,4,nan,6\n", "not finite"),
        ("1,2,3,4,5,6\n1,2,7,8,5,6\n", "id 2 appears more than once in frame 1"),
    ],
)
def test_read_mot_rows_names_the_line_and_problem(tmp_path: Path, text: str, problem: str) -> None:
    path = tmp_path / "t.txt"
    path.write_text(text)
    with pytest.raises(DataError, match=problem) as info:
        read_mot_rows(path)
    assert info.value.path == path


def test_read_mot_rows_missing_file(tmp_path: Path) -> None:
    with pytest.raises(DataError, match="missing"):
        read_mot_rows(tmp_path / "absent.txt")


def test_write_then_read_round_trips_sorted(tmp_path: Path) -> None:
    rows = rows_from_columns(
        [[2, 1, 1.25, 2, 3, 4, 0.5], [1, 9, 5, 6, 7, 8, 1], [1, 3, 0, 0, 1, 1, 1]]
    )
    path = tmp_path / "out" / "tracks.txt"
    write_mot_rows(path, rows)
    back = read_mot_rows(path)
    assert back[["frame", "track_id"]].tolist() == [(1, 3), (1, 9), (2, 1)]
    assert back[2]["x"] == 1.25 and back[2]["conf"] == 0.5
    assert path.read_text().splitlines()[0] == "1,3,0.0,0.0,1.0,1.0,1.0,-1,-1,-1"
    assert [p.name for p in path.parent.iterdir()] == ["tracks.txt"]  # no temporary left


def test_written_numbers_read_back_exactly(tmp_path: Path) -> None:
    rows = rows_from_columns(np.random.default_rng(0).uniform(1, 500, (50, 7)).round())
    rows["x"] += np.random.default_rng(1).normal(0, 3, 50)
    rows = rows[np.unique(rows[["frame", "track_id"]], return_index=True)[1]]
    write_mot_rows(tmp_path / "t.txt", rows)
    back = read_mot_rows(tmp_path / "t.txt")
    order = np.lexsort((rows["track_id"], rows["frame"]))
    assert back.tobytes() == rows[order].tobytes()


def test_select_frames() -> None:
    rows = rows_from_columns(np.array([[f, 1, 0, 0, 1, 1, 1] for f in range(1, 6)]))
    assert select_frames(rows, [2, 4, 9])["frame"].tolist() == [2, 4]


def test_parse_frame_ranges() -> None:
    assert parse_frame_ranges("1-3,7") == [1, 2, 3, 7]
    assert parse_frame_ranges(" 5 - 6 , 2-3,3-4") == [2, 3, 4, 5, 6]
    assert parse_frame_ranges("1-125,176-250,301-375", length=375)[124:126] == [125, 176]
    assert len(parse_frame_ranges("1-125,176-250,301-375")) == 275


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        ("", "is not FIRST-LAST"),
        ("1-3,", "is not FIRST-LAST"),
        ("a-b", "is not FIRST-LAST"),
        ("1--3", "is not FIRST-LAST"),
        ("5-3", "1 <= FIRST <= LAST"),
        ("0-3", "1 <= FIRST <= LAST"),
        ("1-11", "frame 11 is beyond the 10 frames"),
    ],
)
def test_parse_frame_ranges_refuses_bad_text(text: str, problem: str) -> None:
    with pytest.raises(ConfigError, match=problem):
        parse_frame_ranges(text, length=10)


def test_as_rows_accepts_rows_or_columns_only() -> None:
    rows = rows_from_columns([[1, 2, 3, 4, 5, 6, 0.5]])
    assert as_rows(rows) is rows
    assert as_rows(np.array([[1, 2, 3, 4, 5, 6, 0.5]])).tobytes() == rows.tobytes()
    with pytest.raises(TypeError, match="MOT_DTYPE or \\(N, 7\\)"):
        as_rows(np.zeros((2, 6)))
