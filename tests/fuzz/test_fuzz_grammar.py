"""Fuzz the crop file-name grammar: any name parses right or is refused naming the file."""

from __future__ import annotations

from fuzzing import fuzz, parse_or_refuse
from hypothesis import given
from hypothesis import strategies as st

from footreid.data.grammar import CropName, _parse_checked, format_crop_name, parse_crop_name

FIELD = st.one_of(
    st.integers(min_value=0, max_value=10**12).map(str),
    st.sampled_from(["", "0", "007", "x", "10x5", "0x5", "5x", "１２", "²", "Player_team_left"]),
    st.text(alphabet="0123456789x_-.aZ ٣", max_size=6),
    st.text(max_size=4),
)
VALID = st.one_of(
    st.builds(
        lambda b, a, h, w: f"{b}-{a}-{h}x{w}.png",
        st.integers(0, 99999), st.integers(0, 9999), st.integers(0, 900), st.integers(0, 900),
    ),
    st.builds(
        lambda b, a, uid, f, clazz, h, w: f"{b}-{a}-{uid}-{f}-{clazz}-9-u_{b}-{h}x{w}.png",
        st.integers(0, 99999), st.integers(0, 9999), st.integers(0, 99999),
        st.integers(0, 9999), st.sampled_from(["Player_team_left", "Main_referee", "x"]),
        st.integers(0, 900), st.integers(0, 900),
    ),
)  # fmt: skip


@st.composite
def mutated(draw: st.DrawFn) -> str:
    """A well-formed name, often with one field replaced, or a character changed."""
    name = draw(VALID)
    how = draw(st.sampled_from(["keep", "keep", "field", "char", "drop"]))
    parts = name[: -len(".png")].split("-")
    at = draw(st.integers(0, len(parts) - 1))
    if how == "field":
        parts[at] = draw(FIELD)
    elif how == "drop":
        del parts[at]
    name = "-".join(parts) + ".png"
    if how == "char":
        i = draw(st.integers(0, len(name) - 1))
        name = name[:i] + draw(st.characters()) + name[i + 1 :]
    return name


NAMES = st.one_of(
    st.text(max_size=40),
    st.builds(
        lambda parts, suffix: "-".join(parts) + suffix,
        st.lists(FIELD, min_size=1, max_size=10),
        st.sampled_from([".png", ".png", ".PNG", ".jpg", "", ".png.png"]),
    ),
    mutated(),
    mutated(),
)


def _fields(name: str) -> list[str]:
    return name[: -len(".png")].split("-")


@fuzz(1500)
@given(NAMES, st.sampled_from([None, 8, 3]))
def test_crop_names_parse_right_or_are_refused_naming_the_file(name: str, fields: int | None):
    where = f"/data/reid/train/{name!r}"
    crop = parse_or_refuse("crop name", lambda: parse_crop_name(name, fields, where), where)
    if crop is None:
        return
    parts = _fields(name)
    assert len(parts) in ((8, 3) if fields is None else (fields,))
    assert (crop.bbox_idx, crop.action_idx) == (int(parts[0]), int(parts[1]))
    assert f"{crop.height}x{crop.width}" == "x".join(str(int(v)) for v in parts[-1].split("x"))
    assert crop.height > 0 and crop.width > 0
    if crop.labelled:
        assert (crop.person_uid, crop.clazz, crop.id, crop.uai) == tuple(
            parts[i] for i in (2, 4, 5, 6)
        )
        assert crop.frame_idx == int(parts[3])
    # the fast path and the precise one agree, and the name round-trips through the writer
    assert _parse_checked(name, fields, where) == crop
    assert parse_crop_name(format_crop_name(crop)) == crop


TEXT = st.text(alphabet=st.characters(blacklist_characters="-"), min_size=1, max_size=6)


@fuzz(300)
@given(
    st.integers(0, 10**9), st.integers(0, 10**9), TEXT, st.integers(0, 10**9), TEXT, TEXT, TEXT,
    st.integers(1, 10**5), st.integers(1, 10**5),
)  # fmt: skip
def test_written_names_read_back_the_same(b, a, uid, f, clazz, jid, uai, h, w) -> None:
    crop = CropName(b, a, uid, f, clazz, jid, uai, h, w)
    name = format_crop_name(crop)
    assert parse_or_refuse("crop name (round trip)", lambda: parse_crop_name(name), name) == crop
