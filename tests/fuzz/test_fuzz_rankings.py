"""Fuzz the ground truth (``bbox_info.json``) and ranking JSON readers.

Ground truth files come as a mutated official document (any field of any entry replaced
by any JSON value, entries dropped, keys changed) or as raw bytes; rankings as a mutated
right answer. Either the file reads right, or the error names the file.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from fuzzing import any_json, fuzz, parse_or_refuse
from hypothesis import given
from hypothesis import strategies as st

from footreid.data.summary import _bbox_info_warnings
from footreid.evaluate.ranking import (
    evaluate_ranking,
    load_ground_truth,
    load_ranking,
    write_ranking,
)

GT_DOC = {
    "query": {
        str(b): {"bbox_idx": b, "action_idx": a, "person_uid": p, "clazz": "Player_team_left"}
        for b, a, p in [(1, 0, "p1"), (2, 0, "p2"), (3, 1, "p3")]
    },
    "gallery": {
        str(b): {"bbox_idx": b, "action_idx": a, "person_uid": p}
        for b, a, p in [(10, 0, "p1"), (11, 0, "p2"), (12, 0, "p9"), (13, 1, "p3"), (14, 1, 7)]
    },
}
RIGHT = {"1": [10, 11, 12], "2": [11, 10, 12], "3": [13, 14]}


@pytest.fixture(scope="module")
def folder(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("fuzz_rankings")


@st.composite
def mutated_doc(draw: st.DrawFn, doc: dict[str, Any]) -> Any:
    """``doc`` with a few random edits at any depth (values, keys, deletions)."""
    doc = json.loads(json.dumps(doc))
    for _ in range(draw(st.integers(0, 3))):
        node, key = doc, None
        while isinstance(node, dict | list) and node and draw(st.booleans()):
            keys = list(node) if isinstance(node, dict) else list(range(len(node)))
            key = draw(st.sampled_from(keys))
            if not isinstance(node[key], dict | list):
                break
            node = node[key] if draw(st.booleans()) else node
        if not isinstance(node, dict | list) or not node:
            continue
        keys = list(node) if isinstance(node, dict) else list(range(len(node)))
        key = draw(st.sampled_from(keys))
        action = draw(st.sampled_from(["value", "delete", "rename"]))
        if action == "delete":
            del node[key]
        elif action == "rename" and isinstance(node, dict):
            node[draw(st.text(max_size=4))] = node.pop(key)
        else:
            node[key] = draw(any_json())
    return doc


FIELD_VALUES = st.one_of(
    st.integers(-(2**70), 2**70),
    st.sampled_from([2**63 - 1, 2**63, 2**64, -(2**63) - 1, 10**30]),  # int64's edges
    st.integers(-5, 20),
    st.booleans(),
    st.floats(),
    st.text(max_size=3),
)


@st.composite
def field_edits(draw: st.DrawFn) -> Any:
    """The ground truth with entry fields set to odd values, keys kept consistent."""
    doc = json.loads(json.dumps(GT_DOC))
    for _ in range(draw(st.integers(1, 3))):
        role = draw(st.sampled_from(["query", "gallery"]))
        key = draw(st.sampled_from(sorted(doc[role])))
        field = draw(st.sampled_from(["bbox_idx", "action_idx", "person_uid"]))
        value = draw(FIELD_VALUES)
        entry = doc[role].pop(key)
        entry[field] = value
        doc[role][str(value) if field == "bbox_idx" else key] = entry
    return doc


@st.composite
def shuffled(draw: st.DrawFn, ranking: dict[str, list[int]]) -> Any:
    """A right ranking in another order (still right), sometimes with an extra key."""
    out = {key: draw(st.permutations(items)) for key, items in ranking.items()}
    if draw(st.booleans()):
        out[draw(st.text(max_size=3))] = draw(any_json())
    return out


def file_bytes(docs: Any) -> Any:
    """JSON text of a document, or raw bytes (truncated JSON, binary, other encodings)."""
    return st.one_of(
        docs.map(lambda d: json.dumps(d).encode()),
        docs.map(lambda d: json.dumps(d).encode()[: len(json.dumps(d)) // 2]),
        st.binary(max_size=60),
        st.text(max_size=30).map(lambda t: t.encode("utf-16")),
        st.sampled_from([b"[" * 3000, b'{"query": ' * 2000, b"NaN", b"1e999"]),
    )


def _expected_rows(doc: dict[str, Any], role: str) -> list[tuple[int, int, str]]:
    return [(e["bbox_idx"], e["action_idx"], str(e["person_uid"])) for e in doc[role].values()]


@fuzz(400)
@given(file_bytes(st.one_of(mutated_doc(GT_DOC), field_edits())))
def test_ground_truth_reads_right_or_is_refused_naming_the_file(folder: Path, data: bytes):
    path = folder / "bbox_info.json"
    path.write_bytes(data)
    split = parse_or_refuse("bbox_info.json", lambda: load_ground_truth(path), str(path))
    if split is None:
        return
    doc = json.loads(data)
    for role, prefix in (("query", "query_"), ("gallery", "gallery_")):
        got = zip(
            *(
                getattr(split, prefix + f).tolist()
                for f in ("bbox_idx", "action_idx", "person_uid")
            ),
            strict=True,
        )
        assert list(got) == _expected_rows(doc, role)


@fuzz(200)
@given(file_bytes(mutated_doc(GT_DOC)))
def test_data_info_reads_ground_truth_or_refuses_naming_the_file(folder: Path, data: bytes):
    path = folder / "bbox_info.json"
    path.write_bytes(data)
    warnings = parse_or_refuse(
        "bbox_info.json (data info)", lambda: _bbox_info_warnings(path, [], []), str(path)
    )
    assert warnings is None or all(isinstance(w, str) for w in warnings)


@fuzz(500)
@given(file_bytes(st.one_of(mutated_doc(RIGHT), shuffled(RIGHT))))
def test_rankings_score_or_are_refused_naming_the_file(folder: Path, data: bytes) -> None:
    gt, ranking = folder / "gt.json", folder / "ranking.json"
    gt.write_text(json.dumps(GT_DOC))
    ranking.write_bytes(data)
    result = parse_or_refuse("ranking JSON", lambda: evaluate_ranking(gt, ranking), str(ranking))
    if result is not None:
        assert 0.0 <= result.mAP <= 1.0 and result.num_queries == 3


RANKINGS = st.dictionaries(
    st.text(max_size=6), st.lists(st.integers(-(2**63), 2**63 - 1), max_size=5), max_size=5
)


@fuzz(200)
@given(RANKINGS)
def test_written_rankings_read_back_the_same(folder: Path, ranking: dict[str, list[int]]):
    path = write_ranking(folder / "written.json", ranking)
    read = parse_or_refuse("ranking JSON (round trip)", lambda: load_ranking(path), str(path))
    assert read == ranking
    assert np.array_equal(sorted(read), sorted(ranking))
