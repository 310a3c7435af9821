"""Crop filename grammar: the SPEC examples, round trips, and every malformed form."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from footreid.core.errors import DataError
from footreid.data.grammar import CropName, format_crop_name, parse_crop_name


def test_spec_example_labelled() -> None:
    name = "54404-1940-33397-5089-Player_team_right-9-014r002_00858c3b0003-775x449.png"
    crop = parse_crop_name(name)
    assert crop == CropName(
        54404, 1940, "33397", 5089, "Player_team_right", "9", "014r002_00858c3b0003", 775, 449
    )
    assert crop.labelled
    assert format_crop_name(crop) == name


def test_challenge_name_has_three_fields() -> None:
    crop = parse_crop_name("16977-880-624x185.png")
    assert (crop.bbox_idx, crop.action_idx, crop.height, crop.width) == (16977, 880, 624, 185)
    assert not crop.labelled and crop.person_uid is None and crop.clazz is None


def test_unknown_class_and_literal_none_id_are_accepted() -> None:
    crop = parse_crop_name("0-0-267-0-Pedestrian-None-mot20_01_f000005_t003-55x21.png")
    assert crop.clazz == "Pedestrian" and crop.id == "None"


@pytest.mark.parametrize(
    ("name", "fields", "problem"),
    [
        ("0-0-1-0-Player_team_left-9-u-10x5.jpg", None, "is not a .png crop"),
        ("garbage.png", None, "has 1 '-'-separated fields"),
        ("0-0-1-0-Player_team_left-u-10x5.png", None, "has 7 '-'-separated fields"),
        ("0-0-1-0-Player-team_left-9-u-10x5.png", None, "has 9 '-'-separated fields"),
        ("a-0-1-0-Player_team_left-9-u-10x5.png", None, "bbox_idx 'a'"),
        ("0-1.5-1-0-Player_team_left-9-u-10x5.png", None, "action_idx '1.5'"),
        ("0-0-1-x-Player_team_left-9-u-10x5.png", None, "frame_idx 'x'"),
        ("0--10x5.png", None, "field action_idx"),
        ("0-0-1-0--9-u-10x5.png", None, "field clazz"),
        ("0-0-1-0-Player_team_left-9-u-10X5.png", None, "size field '10X5'"),
        ("0-0-1-0-Player_team_left-9-u-0x5.png", None, "size field '0x5'"),
        ("0-0-1-0-Player_team_left-9-u-10x.png", None, "size field '10x'"),
        ("0-0-10x5.png", 8, "has 3 '-'-separated fields"),
        ("0-0-1-0-Player_team_left-9-u-10x5.png", 3, "has 8 '-'-separated fields"),
        ("０-0-10x5.png", None, "bbox_idx"),  # a full-width digit is not ASCII
    ],
)
def test_malformed_names_raise_naming_the_file(name: str, fields: int | None, problem: str) -> None:
    with pytest.raises(DataError) as info:
        parse_crop_name(name, fields, where=f"/data/{name}")
    assert str(info.value.path) == f"/data/{name}"
    assert problem in info.value.problem


text = st.text(alphabet="abcXYZ_019", min_size=1, max_size=8)
index = st.integers(min_value=0, max_value=10**7)
size = st.integers(min_value=1, max_value=4000)


@given(index, index, text, index, text, text, text, size, size)
def test_labelled_round_trip(
    b: int, a: int, uid: str, f: int, clazz: str, jid: str, uai: str, h: int, w: int
) -> None:
    crop = CropName(b, a, uid, f, clazz, jid, uai, h, w)
    assert parse_crop_name(format_crop_name(crop), 8) == crop


@given(index, index, size, size)
def test_challenge_round_trip(b: int, a: int, h: int, w: int) -> None:
    crop = CropName(b, a, None, None, None, None, None, h, w)
    assert parse_crop_name(format_crop_name(crop), 3) == crop


def test_format_refuses_a_dash_in_a_text_field() -> None:
    with pytest.raises(ValueError, match="free of '-'"):
        format_crop_name(CropName(0, 0, "1-2", 0, "Player_team_left", "9", "u", 10, 5))
