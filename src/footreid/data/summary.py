"""What ``footreid data-info`` prints: counts, distributions and checks of every split.

Reading a split (:mod:`footreid.data.soccernet`) already checks each file's name and PNG
signature; a summary can also decode every crop (a truncated file only fails there),
compare decoded sizes with the ``HxW`` of the names, and report consistency findings
that are not errors: queries without a same-action gallery match, identities spanning
actions, and disagreements with the split's ground-truth ``bbox_info.json``.
"""

from __future__ import annotations

import json
from collections import Counter, defaultdict
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from footreid.core.errors import DataError
from footreid.core.records import Sample
from footreid.data.images import decode_all
from footreid.data.soccernet import SPLITS, find_reid_root, read_eval_split, read_train
from footreid.data.walk import SkipReport


@dataclass
class SplitSummary:
    """Counts and distributions of one split (what ``footreid data-info`` prints).

    Attributes:
        split: train, valid, test or challenge.
        images: usable crops (query + gallery for evaluation splits).
        identities: distinct ``person_uid`` values (0 on the challenge split).
        actions: distinct ``action_idx`` values.
        queries, gallery: list sizes (0 for train).
        crops_per_action: (min, median, max) crops per action.
        heights: (min, q1, median, q3, max) crop height in pixels, from the names.
        class_counts: crops per ``clazz``, most common first (empty on challenge).
        skipped: bad files skipped (only with ``skip_bad``).
        decoded: crops fully decoded; None when decoding was not asked for.
        warnings: consistency findings that are not errors.
    """

    split: str
    images: int
    identities: int
    actions: int
    queries: int
    gallery: int
    crops_per_action: tuple[float, float, float]
    heights: tuple[float, float, float, float, float]
    class_counts: dict[str, int]
    skipped: SkipReport
    decoded: int | None
    warnings: list[str]


@dataclass
class DatasetSummary:
    """Summaries of every split found under a dataset's ``reid`` folder."""

    reid_root: Path
    splits: list[SplitSummary]

    @property
    def skipped(self) -> int:
        """Bad files skipped over all splits."""
        return sum(s.skipped.total for s in self.splits)


def _decode(
    samples: list[Sample], skip_bad: bool, report: SkipReport, label: str
) -> tuple[list[Sample], int, list[str]]:
    """Decode every crop; returns (usable samples, decoded count, warnings)."""
    check = decode_all(
        ((s.path, s.height, s.width) for s in samples),
        total=len(samples),
        skip_bad=skip_bad,
        label=label,
    )
    for path, problem in check.bad:
        report.add(path, "decode", problem)
    bad = {path for path, _ in check.bad}
    warnings = []
    if check.size_mismatches:
        path, problem = check.size_mismatches[0]
        warnings.append(
            f"{len(check.size_mismatches)} crops differ in size from their name, e.g. "
            f"{path.name}: {problem}"
        )
    return [s for s in samples if s.path not in bad], check.decoded, warnings


def _match_warnings(query: list[Sample], gallery: list[Sample]) -> list[str]:
    """Queries without a same-action gallery match; identities spanning actions."""
    warnings = []
    gallery_keys = {(s.action_idx, s.person_uid) for s in gallery}
    unmatched = sum((s.action_idx, s.person_uid) not in gallery_keys for s in query)
    if query and query[0].person_uid is not None and unmatched:
        warnings.append(f"{unmatched} queries have no same-action gallery match")
    actions_of: dict[str | None, set[int]] = defaultdict(set)
    for s in (*query, *gallery):
        actions_of[s.person_uid].add(s.action_idx)
    spread = sum(len(a) > 1 for uid, a in actions_of.items() if uid is not None)
    if spread:
        warnings.append(f"{spread} person_uids appear in more than one action")
    return warnings


def _disagrees(record: object, sample: Sample) -> bool:
    """True when a ground-truth record and a crop differ (person_uid only if labelled)."""
    if not isinstance(record, dict) or record.get("action_idx") != sample.action_idx:
        return True
    return sample.person_uid is not None and str(record.get("person_uid")) != sample.person_uid


def _bbox_info_warnings(path: Path, query: list[Sample], gallery: list[Sample]) -> list[str]:
    """Disagreements between the ground-truth JSON and the crops on disk."""
    try:
        truth = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError, RecursionError) as exc:  # recursion: nested thousands deep
        raise DataError(path, f"cannot read the ground-truth JSON ({exc})") from None
    warnings = []
    for role, samples in (("query", query), ("gallery", gallery)):
        records = truth.get(role) if isinstance(truth, dict) else None
        if not isinstance(records, dict):
            raise DataError(path, f"no '{role}' map: not a bbox_info.json ground-truth file")
        tree = {str(s.bbox_idx): s for s in samples}
        differ = sum(_disagrees(records[k], tree[k]) for k in tree.keys() & records.keys())
        for count, what in (
            (len(records.keys() - tree.keys()), f"{role} records of {path.name} have no crop"),
            (len(tree.keys() - records.keys()), f"{role} crops are missing from {path.name}"),
            (differ, f"{role} crops disagree with {path.name} on person_uid/action_idx"),
        ):
            if count:
                warnings.append(f"{count} {what}")
    return warnings


def _summary(split: str, query: list[Sample], gallery: list[Sample]) -> SplitSummary:
    """Counts and distributions; ``skipped``, ``decoded`` and ``warnings`` left empty."""
    crops = [*query, *gallery]
    per_action = Counter(s.action_idx for s in crops)
    classes = Counter(s.clazz for s in crops if s.clazz is not None)
    heights = np.percentile([s.height for s in crops], [0, 25, 50, 75, 100])
    counts = np.percentile(list(per_action.values()), [0, 50, 100])
    return SplitSummary(
        split=split,
        images=len(crops),
        identities=len({s.person_uid for s in crops if s.person_uid is not None}),
        actions=len(per_action),
        queries=len(query) if split != "train" else 0,
        gallery=len(gallery),
        crops_per_action=tuple(float(c) for c in counts),
        heights=tuple(float(h) for h in heights),
        class_counts=dict(classes.most_common()),
        skipped=SkipReport(),
        decoded=None,
        warnings=[],
    )


def summarize_split(
    root: str | Path, split: str, *, skip_bad: bool = False, decode: bool = True
) -> SplitSummary:
    """Read one split, optionally decode every crop, and summarise it.

    Args:
        root: dataset folder (see :func:`find_reid_root`).
        split: train, valid, test or challenge.
        skip_bad: skip and count bad files (also undecodable ones) instead of raising.
        decode: fully decode every PNG (about 1 ms per crop).

    Returns:
        A :class:`SplitSummary` of the usable crops.
    """
    report, bbox_info = SkipReport(), None
    if split == "train":
        query, gallery = read_train(root, skip_bad=skip_bad, report=report), []
    else:
        ev = read_eval_split(root, split, skip_bad=skip_bad)
        query, gallery, report, bbox_info = ev.query, ev.gallery, ev.skipped, ev.bbox_info
    warnings: list[str] = []
    decoded = None
    if decode:
        first = f"{split} crops" if split == "train" else f"{split} query"
        query, q_count, q_warn = _decode(query, skip_bad, report, first)
        gallery, g_count, g_warn = _decode(gallery, skip_bad, report, f"{split} gallery")
        decoded, warnings = q_count + g_count, q_warn + g_warn
        if not query or (split != "train" and not gallery):
            raise DataError(find_reid_root(root) / split, "no decodable crops (empty split)")
    warnings += _match_warnings([], query) if split == "train" else _match_warnings(query, gallery)
    if bbox_info is not None:
        warnings += _bbox_info_warnings(bbox_info, query, gallery)
    summary = _summary(split, query, gallery)
    summary.skipped, summary.decoded, summary.warnings = report, decoded, warnings
    return summary


def summarize_dataset(
    root: str | Path, *, skip_bad: bool = False, decode: bool = True
) -> DatasetSummary:
    """Summarise (and validate) every split present under the dataset's ``reid`` folder.

    Raises:
        DataError: no split folder, or a bad file when ``skip_bad`` is False.
    """
    reid = find_reid_root(root)
    present = [split for split in SPLITS if (reid / split).is_dir()]
    if not present:
        raise DataError(reid, f"no split folder ({', '.join(SPLITS)}) in this folder")
    summaries = [summarize_split(reid, s, skip_bad=skip_bad, decode=decode) for s in present]
    return DatasetSummary(reid, summaries)
