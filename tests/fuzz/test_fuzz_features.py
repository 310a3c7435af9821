"""Fuzz the features file reader (``FeatureSet.load``): written files read back the same;
corrupted, truncated or hand-made ``.npz`` files are refused naming the file."""

from __future__ import annotations

import io
import json
import zipfile
from pathlib import Path

import numpy as np
import pytest
from fuzzing import any_json, fuzz, parse_or_refuse
from hypothesis import given
from hypothesis import strategies as st
from hypothesis.extra.numpy import array_shapes, arrays, scalar_dtypes

from footreid.core.publish import publishable
from footreid.core.records import _ARRAY_FIELDS, FeatureSet

FIELDS = ("features", *_ARRAY_FIELDS)


@pytest.fixture(scope="module")
def folder(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("fuzz_features")


@st.composite
def feature_sets(draw: st.DrawFn) -> FeatureSet:
    n, d = draw(st.integers(0, 6)), draw(st.integers(1, 5))
    floats = st.floats(-(2.0**100), 2.0**100, width=32)
    words = st.lists(st.text(max_size=5), min_size=n, max_size=n)
    return FeatureSet(
        features=draw(arrays(np.float32, (n, d), elements=floats)),
        bbox_idx=draw(arrays(np.int64, n)),
        action_idx=draw(arrays(np.int64, n)),
        person_uid=draw(words),
        role=draw(st.lists(st.sampled_from(["query", "gallery"]), min_size=n, max_size=n)),
        path=draw(words),
        clazz=draw(words),
        meta=draw(st.dictionaries(st.text(max_size=5), any_json(), max_size=3)),
    )


def _same(a: FeatureSet, b: FeatureSet, folder: Path) -> bool:
    arrays_equal = all(np.array_equal(getattr(a, f), getattr(b, f)) for f in FIELDS)
    # machine paths in meta are written relative to the file or as names (core.publish)
    return arrays_equal and publishable({**a.meta, "format_version": 1}, folder) == b.meta


@fuzz(150)
@given(feature_sets())
def test_written_features_read_back_the_same(folder: Path, features: FeatureSet) -> None:
    path = features.save(folder / "written.npz")
    read = parse_or_refuse("features .npz (round trip)", lambda: FeatureSet.load(path), str(path))
    assert read is not None and _same(features, read, path.parent.resolve())


def _npz(arrays_by_name: dict[str, np.ndarray]) -> bytes:
    buffer = io.BytesIO()
    np.savez(buffer, **arrays_by_name)
    return buffer.getvalue()


ANY_ARRAY = st.one_of(
    arrays(scalar_dtypes(), array_shapes(min_dims=0, max_dims=3, max_side=3)),
    arrays(np.dtype("U3"), st.integers(0, 4)),
    arrays(np.float64, (2, 2), elements=st.sampled_from([np.nan, np.inf, 1.0])),
    st.just(np.asarray("not json")),
    any_json().map(lambda v: np.asarray(json.dumps(v))),
    any_json().map(lambda v: np.asarray(json.dumps({"format_version": 1, "dataset_root": v}))),
)


@st.composite
def edited_npz(draw: st.DrawFn) -> bytes:
    """A right features file with some arrays replaced, dropped or added."""
    good = FeatureSet(
        np.eye(4, 3, dtype=np.float32), [1, 2, 3, 4], [0, 0, 1, 1], list("abab"),
        ["query", "gallery"] * 2, list("wxyz"), [""] * 4, {"model": "m"},
    )  # fmt: skip
    items = {f: getattr(good, f) for f in FIELDS}
    items["meta"] = np.asarray(json.dumps({**good.meta, "format_version": 1}))
    for name in draw(st.lists(st.sampled_from([*items, "extra"]), max_size=3)):
        if draw(st.booleans()) and name in items:
            del items[name]
        else:
            items[name] = draw(ANY_ARRAY)
    return _npz(items)


@st.composite
def damaged(draw: st.DrawFn, data: bytes) -> bytes:
    """``data`` truncated, or with a few bytes changed."""
    if draw(st.booleans()):
        return data[: draw(st.integers(0, len(data) - 1))]
    out = bytearray(data)
    for _ in range(draw(st.integers(1, 4))):
        out[draw(st.integers(0, len(out) - 1))] = draw(st.integers(0, 255))
    return bytes(out)


GOOD = _npz({"features": np.zeros((2, 3), np.float32)})
FILES = st.one_of(
    edited_npz(),
    edited_npz().flatmap(damaged),
    st.binary(max_size=200),
    st.just(b"PK\x03\x04"),
    st.builds(lambda arr: _npy(arr), ANY_ARRAY),
)


def _npy(array: np.ndarray) -> bytes:
    buffer = io.BytesIO()
    np.save(buffer, array)
    return buffer.getvalue()


@fuzz(500)
@given(FILES)
def test_features_files_read_right_or_are_refused_naming_the_file(folder: Path, data: bytes):
    path = folder / "fuzzed.npz"
    path.write_bytes(data)
    read = parse_or_refuse("features .npz", lambda: FeatureSet.load(path), str(path))
    if read is None:
        return
    with zipfile.ZipFile(path) as archive:  # accepted: it is the archive's content
        assert {f"{f}.npy" for f in FIELDS} <= set(archive.namelist())
    assert read.features.ndim == 2 and np.isfinite(read.features).all()
    assert set(read.role.tolist()) <= {"query", "gallery"}
