"""Challenge ranking files: export, ground truth, the official evaluator's rules, scoring.

A ranking (``docs/protocol.md``) is a JSON object: key = query ``bbox_idx`` as a string,
value = list of int gallery ``bbox_idx`` of the query's action, best first, each exactly
once. The ground truth is the official ``bbox_info.json``:
``{"query": {str(bbox_idx): {"bbox_idx", "action_idx", "person_uid", ...}}, "gallery": {...}}``.

:func:`check_ranking` raises on exactly the rankings that
``SoccerNet.Evaluation.ReIdentification.evaluate`` rejects, in the same order (first
query in ground-truth order, then first offending item), but as a :class:`RankingError`
naming the query, the problem and the fix. Two deliberate differences, both about the
ground truth rather than the ranking: a query whose action has no match is skipped and
counted (the official code raises), and so is a query whose action has no gallery at all
(its ranking must then be ``[]``; the official code fails with a KeyError).
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from itertools import chain
from pathlib import Path
from typing import Any

import numpy as np

from footreid.core.errors import DataError, RankingError
from footreid.core.io import atomic_write_json
from footreid.core.log import get_logger
from footreid.evaluate.distances import ActionDistances, EvalSplit
from footreid.evaluate.metrics import EvalResult, evaluate_flat_matches, identity_codes, rank_order

log = get_logger(__name__)

Ranking = dict[str, list[int]]


def rankings_from_distances(dist: ActionDistances) -> Ranking:
    """Challenge ranking of per-action distances (labels are not needed).

    The order is :func:`footreid.evaluate.metrics.rank_order`'s (ascending distance, ties
    in gallery order), the one :func:`~footreid.evaluate.metrics.evaluate_distances` scores.

    Returns:
        ``{str(query bbox_idx): [gallery bbox_idx of its action, best first]}`` in query
        row order, values plain Python ints.
    """
    split = dist.split
    per_row: dict[int, list[int]] = {}
    for block in dist:
        ranked = split.gallery_bbox_idx[block.gallery][rank_order(block.qg)]
        per_row.update(zip(np.asarray(block.query).tolist(), ranked.tolist(), strict=True))
    if len(per_row) != split.num_queries:
        raise DataError(
            None,
            f"the distance blocks cover {len(per_row)} of {split.num_queries} queries: "
            "compute them with action_distances over the whole split",
        )
    keys = [str(b) for b in split.query_bbox_idx.tolist()]
    if len(set(keys)) != len(keys):
        raise DataError(None, "query bbox_idx values repeat: a ranking needs unique query ids")
    return {keys[row]: per_row[row] for row in range(split.num_queries)}


def write_ranking(path: str | Path, ranking: Mapping[str, list[int]]) -> Path:
    """Write a ranking as compact JSON, atomically; returns the path."""
    path = Path(path)
    atomic_write_json(path, dict(ranking), indent=None)
    return path


def _read_json(path: Path) -> Any:
    if not path.is_file():
        raise DataError(path, "file not found")
    try:
        with open(path, encoding="utf-8") as handle:
            return json.load(handle)
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise DataError(path, f"not valid JSON ({exc})") from exc
    except RecursionError:  # "[[[[..." thousands deep: the decoder recurses per level
        raise DataError(path, "not valid JSON (nested too deeply to read)") from None


def _int_field(path: Path, where: str, entry: dict[str, Any], name: str) -> int:
    value = entry.get(name)
    if type(value) is not int:  # bool is not an index
        problem = "is missing" if name not in entry else f"is {value!r}, not an integer"
        raise DataError(path, f"{where}: field '{name}' {problem}")
    if not -(2**63) <= value < 2**63:  # ids are stored as int64
        raise DataError(path, f"{where}: field '{name}' is {value}, beyond 64-bit integers")
    return value


def _parse_entries(path: Path, role: str, entries: Any) -> tuple[np.ndarray, ...]:
    if not isinstance(entries, dict):
        raise DataError(
            path,
            f"missing or malformed '{role}' object (expected the official "
            "bbox_info.json: {'query': {...}, 'gallery': {...}})",
        )
    bbox, action, uid = [], [], []
    for key, entry in entries.items():
        where = f"{role} entry '{key}'"
        if not isinstance(entry, dict):
            raise DataError(path, f"{where} is not an object")
        b = _int_field(path, where, entry, "bbox_idx")
        if key != str(b):
            raise DataError(path, f"{where}: key differs from its bbox_idx {b}")
        person = entry.get("person_uid")
        if type(person) not in (str, int):
            problem = "is missing" if "person_uid" not in entry else f"is {person!r}"
            raise DataError(path, f"{where}: field 'person_uid' {problem} (need a string)")
        bbox.append(b)
        action.append(_int_field(path, where, entry, "action_idx"))
        uid.append(str(person))
    as_int = (np.asarray(bbox, dtype=np.int64), np.asarray(action, dtype=np.int64))
    return (*as_int, np.asarray(uid, dtype=np.str_))


def load_ground_truth(path: str | Path) -> EvalSplit:
    """Read an official ground-truth file (``bbox_info.json``) into an :class:`EvalSplit`.

    Rows follow the file's order. Raises DataError naming the file and entry on bad JSON,
    a missing ``query``/``gallery`` object or a missing/mistyped field.
    """
    path = Path(path)
    obj = _read_json(path)
    if not isinstance(obj, dict):
        raise DataError(path, "a ground-truth file must be a JSON object")
    qb, qa, qu = _parse_entries(path, "query", obj.get("query"))
    gb, ga, gu = _parse_entries(path, "gallery", obj.get("gallery"))
    return EvalSplit(
        query_bbox_idx=qb,
        query_action_idx=qa,
        query_person_uid=qu,
        gallery_bbox_idx=gb,
        gallery_action_idx=ga,
        gallery_person_uid=gu,
    )


def load_ranking(path: str | Path) -> dict[str, Any]:
    """Read a ranking JSON file (not yet checked: see :func:`check_ranking`)."""
    path = Path(path)
    obj = _read_json(path)
    if not isinstance(obj, dict):
        raise RankingError(f"{path}: a ranking must be a JSON object {{query id: [gallery ids]}}")
    return obj


def check_ranking(ranking: Mapping[str, Any], split: EvalSplit) -> None:
    """Apply the official evaluator's rules; raise on the first query that breaks one.

    Every query of ``split`` needs a list holding each gallery ``bbox_idx`` of its action
    exactly once, as JSON integers. Keys that are not queries are ignored (and logged), as
    the official evaluator ignores them.

    Raises:
        RankingError: naming the query and the problem (missing query, not a list,
            non-integer item, duplicate, unknown gallery id, other action, missing item).
    """
    if not isinstance(ranking, Mapping):
        raise RankingError("a ranking must be a JSON object {query id: [gallery ids]}")
    g_ids = split.gallery_bbox_idx.tolist()
    g_action = dict(zip(g_ids, split.gallery_action_idx.tolist(), strict=True))
    by_action: dict[int, list[int]] = {}
    for g, a in zip(g_ids, split.gallery_action_idx.tolist(), strict=True):
        by_action.setdefault(a, []).append(g)
    expected = {a: set(ids) for a, ids in by_action.items()}
    keys = [str(b) for b in split.query_bbox_idx.tolist()]
    for key, action in zip(keys, split.query_action_idx.tolist(), strict=True):
        if key not in ranking:
            raise RankingError(f"query '{key}': no ranking given; rank every query of the split")
        items = ranking[key]
        if not isinstance(items, list):
            raise RankingError(
                f"query '{key}': the ranking is a {type(items).__name__}, "
                "expected a list of gallery bbox_idx"
            )
        want = expected.get(action, set())
        if len(items) == len(want) and all(type(g) is int for g in items) and set(items) == want:
            continue
        _raise_first_problem(key, action, items, g_action, by_action.get(action, []))
    extra = len(ranking) - len(set(keys) & set(ranking))
    if extra:
        log.warning("ranking has %d keys that are not queries of the split (ignored)", extra)


def _raise_first_problem(
    key: str, action: int, items: list[Any], g_action: dict[int, int], action_ids: list[int]
) -> None:
    """Raise for the first rule ``items`` breaks, in the official evaluator's order."""
    seen: set[int] = set()
    for g in items:
        if type(g) is not int:
            raise RankingError(
                f"query '{key}': item {g!r} ({type(g).__name__}) is not an "
                "integer gallery bbox_idx; write JSON integers only"
            )
        if g in seen:
            raise RankingError(
                f"query '{key}': gallery item {g} is listed more than once; "
                "list each gallery item of the action exactly once"
            )
        seen.add(g)
        if g not in g_action:
            raise RankingError(f"query '{key}': gallery item {g} is not in the ground truth")
        if g_action[g] != action:
            raise RankingError(
                f"query '{key}' of action {action}: gallery item {g} belongs to "
                f"action {g_action[g]}; rank only the query's own action"
            )
    for g in action_ids:
        if g not in seen:
            raise RankingError(
                f"query '{key}': gallery item {g} of its action {action} is "
                "missing; list each gallery item of the action exactly once"
            )
    raise AssertionError(f"query '{key}': ranking rejected by the fast check but no rule broken")


def score_ranking(ranking: Mapping[str, Any], split: EvalSplit, max_rank: int = 20) -> EvalResult:
    """Check a ranking against a labelled split, then compute its mAP and CMC.

    Returns:
        The :class:`~footreid.evaluate.metrics.EvalResult` (the list order is taken as is).
    """
    check_ranking(ranking, split)
    q_code, g_code = identity_codes(split)
    lists = [ranking[str(b)] for b in split.query_bbox_idx.tolist()]
    lengths = np.fromiter(map(len, lists), dtype=np.int64, count=len(lists))
    flat = np.fromiter(chain.from_iterable(lists), dtype=np.int64, count=int(lengths.sum()))
    sorter = np.argsort(split.gallery_bbox_idx, kind="stable")
    g_rows = sorter[np.searchsorted(split.gallery_bbox_idx, flat, sorter=sorter)]
    hits = g_code[g_rows] == np.repeat(q_code, lengths)
    rows = np.arange(split.num_queries, dtype=np.int64)
    return evaluate_flat_matches(hits, lengths, rows, split, max_rank)


def evaluate_ranking(
    gt_path: str | Path, ranking_path: str | Path, max_rank: int = 20
) -> EvalResult:
    """mAP and CMC of a ranking file against an official ground-truth file.

    Raises:
        DataError: a file is unreadable or the ground truth malformed.
        RankingError: the ranking breaks an official rule (message names the file and query).
    """
    split = load_ground_truth(gt_path)
    ranking = load_ranking(ranking_path)
    try:
        return score_ranking(ranking, split, max_rank)
    except RankingError as exc:
        raise RankingError(f"{ranking_path}: {exc}") from None
