"""Walking one crop list (train, query or gallery) and checking it against the layout.

:func:`walk_crop_list` walks a list with ``os.scandir`` and checks folder depth, file
names (:mod:`footreid.data.grammar`), PNG headers, action folders and ``bbox_idx``
uniqueness. The action folder is checked as a one-to-one match with ``action_idx`` (all
crops of a folder share one ``action_idx``, and an ``action_idx`` lives in one folder)
rather than by comparing the folder name with the number, because which numbering the
real folder names use is not part of the published grammar. A bad file raises a
:class:`DataError` naming it, or, on request, is skipped and counted in a
:class:`SkipReport`.
"""

from __future__ import annotations

import os
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from pathlib import Path

from footreid.core.errors import DataError
from footreid.data.grammar import CropName, parse_crop_name
from footreid.data.images import png_header_size

SKIP_HINT = " (fix or remove it, or pass skip_bad=True / --skip-bad to skip and count bad files)"


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
