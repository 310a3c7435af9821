"""SoccerNet-v3 ReID splits on disk: find the root, walk a split, build Samples, subsets.

Layout (``docs/protocol.md``, "Data")::

    reid/train/<championship>/<season>/<game>/<action>/<file>.png
    reid/{valid,test}/{query,gallery}/<championship>/<season>/<game>/<action>/<file>.png
    reid/challenge/{query,gallery}/<file>.png          (flat, 3-field names)

Every crop is checked while walking (:func:`footreid.data.walk.walk_crop_list`):
its name, its PNG signature, its action folder, the uniqueness of its ``bbox_idx``.
A bad file raises :class:`DataError` naming it, or, with ``skip_bad=True``, is
skipped, counted in a :class:`SkipReport` and logged as a warning. ``load_image``
(from :mod:`footreid.data.images`) is re-exported here as part of the data contract.
Describing and validating a whole dataset (``footreid data-info``) is
:mod:`footreid.data.summary`'s job.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Literal

import numpy as np

from footreid.core.errors import ConfigError, DataError
from footreid.core.log import get_logger
from footreid.core.records import Role, Sample
from footreid.data.grammar import KNOWN_CLASSES
from footreid.data.images import load_image
from footreid.data.walk import BadFiles, SkipReport, walk_crop_list

__all__ = [
    "EVAL_SPLITS",
    "SPLITS",
    "EvalSet",
    "SkipReport",
    "find_reid_root",
    "load_image",
    "read_eval_split",
    "read_train",
    "relabel",
    "subset_by_actions",
]

log = get_logger(__name__)

SPLITS: tuple[str, ...] = ("train", "valid", "test", "challenge")
EVAL_SPLITS: tuple[str, ...] = ("valid", "test", "challenge")
FOLDER_LEVELS = 4  # championship / season / game / action
SubsetMode = Literal["random", "prefix"]


@dataclass(frozen=True)
class EvalSet:
    """The query and gallery lists of an evaluation split, each sorted by ``bbox_idx``.

    ``person_uid`` keeps its string form; ``label`` is -1. Challenge crops have no
    labels (``person_uid`` None).
    """

    split: str
    folder: Path
    query: list[Sample]
    gallery: list[Sample]
    skipped: SkipReport = field(default_factory=SkipReport)

    @property
    def labelled(self) -> bool:
        """True when every crop has a ``person_uid``."""
        return all(s.person_uid is not None for s in (*self.query, *self.gallery))

    @property
    def bbox_info(self) -> Path | None:
        """The split's ground truth: ``<split>/bbox_info.json`` (inside the zip for
        valid) or ``<split>_bbox_info.json`` beside the split (``footreid download
        --split test_labels``); None when neither exists."""
        for path in (
            self.folder / "bbox_info.json",
            self.folder.parent / f"{self.split}_bbox_info.json",
        ):
            if path.is_file():
                return path
        return None


def find_reid_root(root: str | Path) -> Path:
    """The ``reid`` folder of a dataset.

    Args:
        root: a folder holding ``reid/``, ``soccernetv3/reid/``, or the ``reid`` folder
            itself (a folder holding ``train/``, ``valid/``, ``test/`` or ``challenge/``).

    Returns:
        Absolute path of the folder holding the split folders.

    Raises:
        DataError: ``root`` is missing or holds no such folder.
    """
    root = Path(root).expanduser().absolute()
    if not root.is_dir():
        raise DataError(root, "dataset folder not found")
    for candidate in (root / "reid", root / "soccernetv3" / "reid"):
        if candidate.is_dir():
            return candidate
    if any((root / split).is_dir() for split in SPLITS):
        return root
    raise DataError(
        root,
        "no SoccerNet-v3 ReID data: expected reid/, soccernetv3/reid/ or a folder holding "
        f"{'/, '.join(SPLITS)}/; get it with `footreid download ROOT --split valid` "
        "or make a synthetic set with `footreid synth ROOT`",
    )


def _split_folder(reid: Path, *parts: str) -> Path:
    folder = reid.joinpath(*parts)
    if not folder.is_dir():
        raise DataError(
            folder,
            f"split folder not found; download it (footreid download ROOT --split {parts[0]})",
        )
    return folder


def _read_list(top: Path, role: Role, levels: int, bad: BadFiles, check_png: bool) -> list[Sample]:
    """Walk one crop list (train, query or gallery) into Samples sorted by ``bbox_idx``."""
    crops = walk_crop_list(top, levels, bad, check_png)
    if not crops:
        raise DataError(top, f"no usable {role} crops in this folder (empty split)")
    unknown = {c.clazz for _, c in crops if c.clazz is not None} - KNOWN_CLASSES
    if unknown:
        log.debug("%s: classes outside SoccerNet's list: %s", top, ", ".join(sorted(unknown)))
    labels: dict[str | None, int] = {}  # train: first appearance in bbox_idx order
    return [
        Sample(
            path,
            c.bbox_idx,
            c.action_idx,
            c.person_uid,
            c.frame_idx,
            c.clazz,
            c.id,
            c.uai,
            c.height,
            c.width,
            role,
            labels.setdefault(c.person_uid, len(labels)) if role == "train" else -1,
        )
        for path, c in crops
    ]


def _log_skips(where: Path, report: SkipReport) -> None:
    if report.total:
        first = "; ".join(f"{path}: {problem}" for path, problem in report.examples[:2])
        log.warning("%s: %s; e.g. %s", where, report.describe(), first)


def read_train(
    root: str | Path,
    *,
    skip_bad: bool = False,
    check_png: bool = True,
    report: SkipReport | None = None,
) -> list[Sample]:
    """Read ``reid/train`` into Samples sorted by ``bbox_idx`` with contiguous labels.

    Args:
        root: dataset folder (see :func:`find_reid_root`).
        skip_bad: skip and count bad files instead of raising on the first.
        check_png: read each file's first 24 bytes to catch zero-byte / non-PNG files.
        report: filled with the skipped files (also logged as a warning).

    Returns:
        Samples with ``role="train"`` and ``label`` in 0..C-1, numbered by first
        appearance of each ``person_uid`` in ``bbox_idx`` order (the official loader's
        relabelling). A class is a player in one action.

    Raises:
        DataError: missing or empty split, or a bad file when ``skip_bad`` is False.
    """
    report = SkipReport() if report is None else report
    folder = _split_folder(find_reid_root(root), "train")
    samples = _read_list(folder, "train", FOLDER_LEVELS, BadFiles(skip_bad, report), check_png)
    _log_skips(folder, report)
    return samples


def read_eval_split(
    root: str | Path, split: str, *, skip_bad: bool = False, check_png: bool = True
) -> EvalSet:
    """Read the query and gallery lists of ``valid``, ``test`` or ``challenge``.

    Args:
        root: dataset folder (see :func:`find_reid_root`).
        split: ``valid`` / ``test`` (4 folder levels, 8-field names) or ``challenge``
            (flat folders, 3-field names).
        skip_bad: skip and count bad files instead of raising on the first.
        check_png: read each file's first 24 bytes to catch zero-byte / non-PNG files.

    Returns:
        An :class:`EvalSet`; its ``skipped`` report counts the skipped files.

    Raises:
        DataError: unknown split, missing or empty folder, or a bad file.
    """
    reid = find_reid_root(root)
    if split not in EVAL_SPLITS:
        raise DataError(reid / split, f"unknown evaluation split; choose {', '.join(EVAL_SPLITS)}")
    levels = 0 if split == "challenge" else FOLDER_LEVELS
    report = SkipReport()
    bad = BadFiles(skip_bad, report)
    lists = {
        role: _read_list(_split_folder(reid, split, role), role, levels, bad, check_png)
        for role in ("query", "gallery")
    }
    _log_skips(reid / split, report)
    return EvalSet(split, reid / split, lists["query"], lists["gallery"], report)


def relabel(samples: list[Sample]) -> list[Sample]:
    """Number the ``person_uid`` values 0..C-1 by first appearance in ``samples``."""
    labels: dict[str | None, int] = {}
    out = []
    for sample in samples:
        label = labels.setdefault(sample.person_uid, len(labels))
        out.append(sample if sample.label == label else replace(sample, label=label))
    return out


def subset_by_actions(
    samples: list[Sample], fraction: float, mode: SubsetMode = "random", seed: int = 0
) -> list[Sample]:
    """Keep the crops of a fraction of the actions.

    Args:
        samples: crops of one list (usually from :func:`read_train`).
        fraction: share of the actions to keep, in (0, 1].
        mode: ``prefix`` is the official rule, ``action_idx < fraction * A`` with A =
            largest ``action_idx`` + 1; ``random`` keeps ``round(fraction * n)`` (at
            least 1) of the n actions present, drawn with ``numpy.random.default_rng(seed)``.
        seed: seed of the random draw (ignored by ``prefix``).

    Returns:
        The kept samples in their input order; train samples are relabelled 0..C'-1
        (:func:`relabel`), query/gallery samples are returned unchanged.

    Raises:
        ConfigError: fraction outside (0, 1], unknown mode, or nothing kept.
    """
    if not 0.0 < fraction <= 1.0:
        raise ConfigError(f"subset fraction must be in (0, 1], got {fraction}")
    if mode not in ("random", "prefix"):
        raise ConfigError(f"unknown subset mode '{mode}'; choose random or prefix")
    if not samples:
        return []
    actions = sorted({s.action_idx for s in samples})
    if mode == "prefix":
        keep = {a for a in actions if a < fraction * (actions[-1] + 1)}
    else:
        count = max(1, round(fraction * len(actions)))
        drawn = np.random.default_rng(seed).choice(len(actions), size=count, replace=False)
        keep = {actions[int(i)] for i in drawn}
    kept = [s for s in samples if s.action_idx in keep]
    if not kept:
        raise ConfigError(f"fraction {fraction} ({mode}) keeps none of {len(actions)} actions")
    return relabel(kept) if kept[0].role == "train" else kept
