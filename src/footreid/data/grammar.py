"""The SoccerNet-v3 ReID crop filename grammar (``docs/protocol.md``, "Data").

Labelled crops (train, valid, test) have 8 fields joined by ``-``::

    bbox_idx-action_idx-person_uid-frame_idx-clazz-id-UAI-HxW.png
    54404-1940-33397-5089-Player_team_right-9-014r002_00858c3b0003-775x449.png

Challenge crops have 3: ``bbox_idx-action_idx-HxW.png``. Any other field count is an
error. Parsing is a plain ``str.split`` (no regular expression), so walking the
340,993 crops of the full dataset costs a few microseconds per name.

Walking a whole crop list and checking it against the folder layout is
:mod:`footreid.data.walk`'s job.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from footreid.core.errors import DataError

SUFFIX = ".png"
LABELLED_FIELDS: tuple[str, ...] = (
    "bbox_idx",
    "action_idx",
    "person_uid",
    "frame_idx",
    "clazz",
    "id",
    "UAI",
    "HxW",
)
CHALLENGE_FIELDS: tuple[str, ...] = ("bbox_idx", "action_idx", "HxW")
KNOWN_CLASSES: frozenset[str] = frozenset(
    {
        "Player_team_left",
        "Player_team_right",
        "Goalkeeper_team_left",
        "Goalkeeper_team_right",
        "Main_referee",
        "Side_referee",
        "Staff_members",
        "Player_team_unknown_1",
        "Player_team_unknown_2",
        "Goalkeeper_team_unknown",
    }
)
"""The SoccerNet classes. ``clazz`` is still a free string: other datasets written in
this layout (e.g. pedestrian crops with ``Pedestrian``) are accepted."""


@dataclass(frozen=True, slots=True)
class CropName:
    """The fields of one crop file name; label fields are None for challenge crops."""

    bbox_idx: int
    action_idx: int
    person_uid: str | None
    frame_idx: int | None
    clazz: str | None
    id: str | None
    uai: str | None
    height: int
    width: int

    @property
    def labelled(self) -> bool:
        """True for the 8-field form (a ``person_uid`` is known)."""
        return self.person_uid is not None


def _int_field(value: str, field: str, name: str, where: Path | str) -> int:
    if not (value.isascii() and value.isdigit()):
        raise DataError(where, f"{field} '{value}' in '{name}' is not a non-negative integer")
    return int(value)


def _size_field(value: str, name: str, where: Path | str) -> tuple[int, int]:
    height, sep, width = value.partition("x")
    ok = sep and height.isascii() and height.isdigit() and width.isascii() and width.isdigit()
    if not ok or int(height) == 0 or int(width) == 0:
        raise DataError(
            where,
            f"size field '{value}' in '{name}' is not HxW with positive integers (e.g. 775x449)",
        )
    return int(height), int(width)


def parse_crop_name(
    name: str, fields: int | None = None, where: Path | str | None = None
) -> CropName:
    """Parse a crop file name (the base name, with its ``.png`` suffix).

    Args:
        name: file name such as ``0-0-267-0-Pedestrian-3-mot20_01_f000005_t003-55x21.png``.
        fields: 8 (labelled) or 3 (challenge) to require one form; None accepts both.
        where: path named in errors (default: ``name``).

    Returns:
        The parsed fields; ``height``/``width`` in pixels as written in the name.

    Raises:
        DataError: wrong suffix, wrong field count, empty field, non-integer index or
            malformed ``HxW``, naming the file and the field.
    """
    if fields != 3 and name.endswith(SUFFIX):  # fast path for a well-formed labelled name
        parts = name[: -len(SUFFIX)].split("-")
        if len(parts) == 8 and all(parts):
            height, sep, width = parts[7].partition("x")
            digits = parts[0] + parts[1] + parts[3] + height + width
            if sep and height and width and digits.isascii() and digits.isdigit():
                h, w = int(height), int(width)
                if h and w:
                    return CropName(
                        int(parts[0]), int(parts[1]), parts[2], int(parts[3]),
                        parts[4], parts[5], parts[6], h, w,
                    )  # fmt: skip
    return _parse_checked(name, fields, name if where is None else where)


def _parse_checked(name: str, fields: int | None, where: Path | str) -> CropName:
    """Field-by-field parse that names the first problem (the slow, precise path)."""
    if not name.endswith(SUFFIX):
        raise DataError(where, f"'{name}' is not a {SUFFIX} crop")
    parts = name[: -len(SUFFIX)].split("-")
    allowed = (8, 3) if fields is None else (fields,)
    if len(parts) not in allowed:
        grammar = " or ".join(
            "-".join(LABELLED_FIELDS if n == 8 else CHALLENGE_FIELDS) + SUFFIX for n in allowed
        )
        raise DataError(
            where, f"'{name}' has {len(parts)} '-'-separated fields, expected {grammar}"
        )
    labelled = len(parts) == 8
    for field_name, value in zip(
        LABELLED_FIELDS if labelled else CHALLENGE_FIELDS, parts, strict=True
    ):
        if not value:
            raise DataError(where, f"field {field_name} of '{name}' is empty")
    bbox_idx = _int_field(parts[0], "bbox_idx", name, where)
    action_idx = _int_field(parts[1], "action_idx", name, where)
    height, width = _size_field(parts[-1], name, where)
    if not labelled:
        return CropName(bbox_idx, action_idx, None, None, None, None, None, height, width)
    frame_idx = _int_field(parts[3], "frame_idx", name, where)
    return CropName(
        bbox_idx, action_idx, parts[2], frame_idx, parts[4], parts[5], parts[6], height, width
    )


def format_crop_name(crop: CropName) -> str:
    """The file name of ``crop`` (inverse of :func:`parse_crop_name`).

    Raises:
        ValueError: a text field is empty or holds ``-`` (it would break the grammar).
    """
    size = f"{crop.height}x{crop.width}"
    if not crop.labelled:
        return f"{crop.bbox_idx}-{crop.action_idx}-{size}{SUFFIX}"
    texts = (crop.person_uid, crop.clazz, crop.id, crop.uai)
    if any(not text or "-" in text for text in texts):
        raise ValueError(f"text fields must be non-empty and free of '-': {texts}")
    return (
        f"{crop.bbox_idx}-{crop.action_idx}-{crop.person_uid}-{crop.frame_idx}-"
        f"{crop.clazz}-{crop.id}-{crop.uai}-{size}{SUFFIX}"
    )
