"""The SoccerNet-v3 ReID layout and crop filename grammar (SPEC.md section 2).

Labelled crops (train, valid, test) have 8 fields joined by ``-``::

    bbox_idx-action_idx-person_uid-frame_idx-clazz-id-UAI-HxW.png
    54404-1940-33397-5089-Player_team_right-9-014r002_00858c3b0003-775x449.png

Challenge crops have 3: ``bbox_idx-action_idx-HxW.png``. Any other field count is an
error. Parsing is a plain ``str.split`` (no regular expression), so walking the
340,993 crops of the full dataset costs a few microseconds per name.

:func:`walk_crop_list` checks one crop list (train, query or gallery) against the
layout while walking it with ``os.scandir``: folder depth, names, PNG headers, action
folders and ``bbox_idx`` uniqueness. The action folder is checked as a one-to-one
match with ``action_idx`` (all crops of a folder share one ``action_idx``, and an
``action_idx`` lives in one folder) rather than by comparing the folder name with the
number, because which numbering the real folder names use is not part of the
published grammar.
"""

from __future__ import annotations

import os
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from pathlib import Path

from footreid.core.errors import DataError
from footreid.data.images import png_header_size

SUFFIX = ".png"
SKIP_HINT = " (fix or remove it, or pass skip_bad=True / --skip-bad to skip and count bad files)"
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


@dataclass
class SkipReport:
    """Bad files skipped on request, counted by kind, with the first few examples.

    Kinds: ``name`` (grammar), ``png`` (signature/header), ``layout`` (file or folder
    at the wrong depth), ``action`` (action folder disagrees with ``action_idx``),
    ``duplicate`` (``bbox_idx`` used twice in a list), ``decode`` (full decode failed).
    """

    counts: Counter[str] = field(default_factory=Counter)
    examples: list[tuple[Path, str]] = field(default_factory=list)
    max_examples: int = 5

    @property
    def total(self) -> int:
        """Number of skipped files."""
        return sum(self.counts.values())

    def add(self, path: str | Path, kind: str, problem: str) -> None:
        """Count one skipped file."""
        self.counts[kind] += 1
        if len(self.examples) < self.max_examples:
            self.examples.append((Path(path), problem))

    def describe(self) -> str:
        """One line: total and counts per kind."""
        kinds = ", ".join(f"{kind}: {n}" for kind, n in sorted(self.counts.items()))
        return f"{self.total} bad files skipped ({kinds})" if self.total else "no bad files"


class BadFiles:
    """Raises on a bad file, or counts it in ``report`` when ``skip`` is True."""

    def __init__(self, skip: bool, report: SkipReport) -> None:
        self.skip, self.report = skip, report

    def __call__(self, path: str | Path, kind: str, problem: str) -> None:
        if not self.skip:
            raise DataError(path, problem + SKIP_HINT)
        self.report.add(path, kind, problem)


def _list_dir(folder: str | Path, bad: BadFiles) -> list[os.DirEntry[str]]:
    try:
        with os.scandir(folder) as entries:
            return list(entries)
    except OSError as exc:
        bad(folder, "layout", f"cannot list the folder ({exc.strerror or exc})")
        return []


def _crop_folders(top: Path, levels: int, bad: BadFiles) -> list[tuple[str, list[str]]]:
    """Folders ``levels`` below ``top`` holding the crops, with their sorted file names."""
    found: list[tuple[str, list[str]]] = []
    stack: list[tuple[str, int]] = [(str(top), 0)]
    while stack:
        folder, level = stack.pop()
        entries = _list_dir(folder, bad)
        if level == levels:
            for path in sorted(e.path for e in entries if not e.is_file()):
                bad(path, "layout", "a folder where crop files were expected")
            names = sorted(e.name for e in entries if e.is_file())  # str sort: no key call
            if names:
                found.append((folder, names))
            continue
        for entry in sorted(entries, key=lambda e: e.name, reverse=True):  # pop() in order
            if entry.is_dir():
                stack.append((entry.path, level + 1))
            else:
                bad(
                    entry.path,
                    "layout",
                    f"a file where a folder was expected: crops "
                    f"belong {levels - level} folder level(s) deeper "
                    "(<championship>/<season>/<game>/<action>/<file>.png)",
                )
    return found


def _parse_folder(
    folder: str, names: list[str], fields: int, bad: BadFiles, check_png: bool
) -> list[tuple[Path, CropName]]:
    base = Path(folder)  # one parse per folder; joinpath per file is ~3x cheaper than Path(str)
    crops: list[tuple[Path, CropName]] = []
    for name in names:
        path = base.joinpath(name)
        try:
            crop = parse_crop_name(name, fields)
        except DataError as exc:
            bad(path, "name", exc.problem)
            continue
        if check_png:
            try:
                png_header_size(f"{folder}{os.sep}{name}")  # a str: no Path.__str__ per file
            except DataError as exc:
                bad(path, "png", exc.problem)
                continue
        crops.append((path, crop))
    return crops


def _check_action_folders(
    by_folder: dict[str, list[tuple[Path, CropName]]], bad: BadFiles
) -> list[tuple[Path, CropName]]:
    """Keep crops whose action folder and ``action_idx`` match one to one."""
    folder_action: dict[str, int] = {}
    kept: dict[str, list[tuple[Path, CropName]]] = {}
    for folder, crops in by_folder.items():
        votes = Counter(crop.action_idx for _, crop in crops)
        action, count = min(votes.items(), key=lambda kv: (-kv[1], kv[0]))
        folder_action[folder] = action
        kept[folder] = []
        for path, crop in crops:
            if crop.action_idx == action:
                kept[folder].append((path, crop))
            else:
                bad(
                    path,
                    "action",
                    f"action_idx {crop.action_idx} in the name disagrees with "
                    f"its action folder, whose other {count} crop(s) have action_idx {action}",
                )
    owners: dict[int, list[str]] = defaultdict(list)
    for folder, action in folder_action.items():
        owners[action].append(folder)
    result: list[tuple[Path, CropName]] = []
    for action, folders in owners.items():
        folders.sort(key=lambda f: (-len(kept[f]), f))
        result.extend(kept[folders[0]])
        for other in folders[1:]:
            for path, _ in kept[other]:
                bad(
                    path,
                    "action",
                    f"action_idx {action} also names the crops of action folder "
                    f"{folders[0]}; one action must live in one folder",
                )
    return result


def _drop_duplicates(
    crops: list[tuple[Path, CropName]], bad: BadFiles
) -> list[tuple[Path, CropName]]:
    counts = Counter(crop.bbox_idx for _, crop in crops)
    if len(counts) == len(crops):
        return crops
    paths: dict[int, list[Path]] = defaultdict(list)
    for path, crop in crops:
        if counts[crop.bbox_idx] > 1:
            paths[crop.bbox_idx].append(path)
    for idx in sorted(paths):
        for path in paths[idx]:
            others = ", ".join(str(p) for p in paths[idx] if p != path)
            bad(path, "duplicate", f"bbox_idx {idx} is also used by {others}")
    return [pc for pc in crops if counts[pc[1].bbox_idx] == 1]


def walk_crop_list(
    top: Path, levels: int, bad: BadFiles, check_png: bool = True
) -> list[tuple[Path, CropName]]:
    """Walk one crop list and return its good crops sorted by ``bbox_idx``.

    Args:
        top: the list's folder (``reid/train``, ``reid/valid/query``, ...).
        levels: folder levels above the crops: 4 for labelled lists
            (championship/season/game/action, 8-field names), 0 for the flat
            challenge lists (3-field names).
        bad: what to do with a bad file (raise, or count and skip).
        check_png: read each file's first 24 bytes (signature + IHDR).

    Returns:
        (path, parsed name) pairs, sorted by ``bbox_idx``; possibly empty.
    """
    fields = 8 if levels else 3
    by_folder = {
        folder: _parse_folder(folder, names, fields, bad, check_png)
        for folder, names in _crop_folders(top, levels, bad)
    }
    by_folder = {folder: crops for folder, crops in by_folder.items() if crops}
    crops = _check_action_folders(by_folder, bad) if levels else by_folder.get(str(top), [])
    crops = _drop_duplicates(crops, bad)
    crops.sort(key=lambda pc: pc[1].bbox_idx)
    return crops
