"""Plain records shared by every layer: a dataset crop and a features file.

The field names follow the SoccerNet-v3 ReID filename grammar (``docs/protocol.md``,
"Data"): ``bbox_idx``, ``action_idx``, ``person_uid``, ``frame_idx``, ``clazz``, ``id``,
``UAI``, ``HxW``.
"""

from __future__ import annotations

import json
import zipfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import numpy as np

from footreid.core.errors import DataError
from footreid.core.io import atomic_write
from footreid.core.publish import absolute_path, publishable, restore_path

Role = Literal["train", "query", "gallery"]


@dataclass(frozen=True, slots=True)
class Sample:
    """One crop of a SoccerNet-v3 ReID split.

    Challenge crops have no labels: ``person_uid``, ``frame_idx``, ``clazz``, ``id``
    and ``uai`` are None for them.
    """

    path: Path
    bbox_idx: int
    action_idx: int
    person_uid: str | None
    frame_idx: int | None
    clazz: str | None
    id: str | None
    uai: str | None
    height: int
    width: int
    role: Role
    label: int = -1
    """Contiguous training class ("player in action"); -1 outside a training set."""


FEATURES_FORMAT_VERSION = 1
_ARRAY_FIELDS = ("bbox_idx", "action_idx", "person_uid", "role", "path", "clazz")


@dataclass
class FeatureSet:
    """Embeddings of a query + gallery split with what evaluation needs to group them.

    File format (``.npz``, written with ``numpy.savez``, read with ``allow_pickle=False``):
    ``features`` (N, D) float32; ``bbox_idx`` and ``action_idx`` (N,) int64;
    ``person_uid``, ``role`` ("query" or "gallery"), ``path`` (relative to the split
    folder) and ``clazz`` (N,) unicode ("" where unknown, e.g. the challenge split);
    ``meta`` a 0-d unicode array holding a JSON object (model name, input size,
    checkpoint SHA-256, backend (torch or onnx), flip TTA, normalisation, split, format
    version); the paths it names (``dataset_root``, ``checkpoint``) are written relative to
    the file's folder or as names (:mod:`footreid.core.publish`), and ``dataset_root`` is
    read back as an absolute path.
    """

    features: np.ndarray
    bbox_idx: np.ndarray
    action_idx: np.ndarray
    person_uid: np.ndarray
    role: np.ndarray
    path: np.ndarray
    clazz: np.ndarray
    meta: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.features = np.asarray(self.features, dtype=np.float32)
        self.bbox_idx = np.asarray(self.bbox_idx, dtype=np.int64)
        self.action_idx = np.asarray(self.action_idx, dtype=np.int64)
        for name in ("person_uid", "role", "path", "clazz"):
            setattr(self, name, np.asarray(getattr(self, name), dtype=np.str_))
        self._check(source=None)

    def __len__(self) -> int:
        return int(self.features.shape[0])

    @property
    def dim(self) -> int:
        """Embedding dimension D."""
        return int(self.features.shape[1])

    def _check(self, source: Path | None) -> None:
        if self.features.ndim != 2:
            raise DataError(source, f"features must be (N, D), got shape {self.features.shape}")
        n = self.features.shape[0]
        for name in _ARRAY_FIELDS:
            arr = getattr(self, name)
            if arr.shape != (n,):
                raise DataError(source, f"'{name}' has shape {arr.shape}, expected ({n},)")
        bad = set(np.unique(self.role)) - {"query", "gallery"}
        if bad:
            raise DataError(source, f"role must be 'query' or 'gallery', found {sorted(bad)}")
        if n and not np.isfinite(self.features).all():
            raise DataError(source, "features contain NaN or infinite values")

    def subset(self, mask: np.ndarray) -> FeatureSet:
        """Rows where ``mask`` (bool (N,) or int indices) selects, same meta."""
        return FeatureSet(
            features=self.features[mask],
            **{name: getattr(self, name)[mask] for name in _ARRAY_FIELDS},
            meta=dict(self.meta),
        )

    def query(self) -> FeatureSet:
        """The query rows."""
        return self.subset(self.role == "query")

    def gallery(self) -> FeatureSet:
        """The gallery rows."""
        return self.subset(self.role == "gallery")

    def save(self, path: str | Path) -> Path:
        """Write the ``.npz`` file atomically; returns the path."""
        path = Path(path)
        if path.suffix != ".npz":
            path = path.with_suffix(".npz")
        meta = _published_meta({**self.meta, "format_version": FEATURES_FORMAT_VERSION}, path)
        size = sum(getattr(self, name).nbytes for name in ("features", *_ARRAY_FIELDS))
        with atomic_write(path, size=size) as handle:
            np.savez(
                handle,
                features=self.features,
                **{name: getattr(self, name) for name in _ARRAY_FIELDS},
                meta=np.asarray(json.dumps(meta)),
            )
        return path

    @classmethod
    def load(cls, path: str | Path) -> FeatureSet:
        """Read and validate a features file written by :meth:`save`.

        Raises:
            DataError: the file is missing, is not a ``.npz`` archive, holds pickled
                objects (never unpickled: a features file has none), misses arrays, or
                breaks the format; the message says what a features file holds.
        """
        path = Path(path)
        if not path.is_file():
            raise DataError(path, "features file not found")
        arrays, meta = _read_npz(path)
        if isinstance(meta.get("dataset_root"), str):  # recorded relative to the file
            meta["dataset_root"] = str(restore_path(meta["dataset_root"], path.parent.resolve()))
        version = meta.get("format_version")
        if version != FEATURES_FORMAT_VERSION:
            raise DataError(
                path, f"features format version {version}, expected {FEATURES_FORMAT_VERSION}"
            )
        try:
            return cls(**arrays, meta=meta)
        except DataError as exc:
            raise DataError(path, exc.problem) from None


_PATH_META = ("dataset_root", "checkpoint")
"""Meta values that are always paths (relative ones are relative to the working directory)."""


def _published_meta(meta: dict[str, Any], path: Path) -> dict[str, Any]:
    """``meta`` as the file records it: paths relative to the file's folder, or names."""
    for key in _PATH_META:
        if isinstance(meta.get(key), str) and meta[key]:
            meta[key] = absolute_path(meta[key])
    return publishable(meta, base=path.parent.resolve())


EXPECTED_FEATURES = (
    "expected a features file written by `footreid embed` (.npz holding features (N, D) "
    f"float32, {', '.join(_ARRAY_FIELDS)} (N,) and a JSON meta)"
)


def _not_features(path: Path, problem: str) -> DataError:
    return DataError(path, f"not a footreid features file: {problem}; {EXPECTED_FEATURES}")


def _read_npz(path: Path) -> tuple[dict[str, np.ndarray], dict[str, Any]]:
    """The arrays and meta of a features file, read without ever unpickling."""
    if not zipfile.is_zipfile(path):
        raise _not_features(path, "not a .npz archive")
    try:
        with np.load(path, allow_pickle=False) as data:
            missing = {"features", "meta", *_ARRAY_FIELDS} - set(data.files)
            if missing:
                raise _not_features(path, f"missing {sorted(missing)}")
            arrays = {name: _array(data, name, path) for name in ("features", *_ARRAY_FIELDS)}
            for name, array in arrays.items():
                _check_kind(name, array, path)
            meta = json.loads(str(_array(data, "meta", path)))
    except DataError:
        raise
    # truncated zip, bad JSON, zip features numpy's reader lacks (NotImplementedError)
    except (OSError, ValueError, EOFError, NotImplementedError, zipfile.BadZipFile) as exc:
        raise _not_features(path, f"unreadable ({type(exc).__name__})") from None
    if not isinstance(meta, dict):
        raise _not_features(path, "'meta' is not a JSON object")
    return arrays, meta


_KINDS = {"features": "fiu", "bbox_idx": "iu", "action_idx": "iu"}
"""numpy dtype kinds each array may hold; the other arrays hold text ("U")."""


def _check_kind(name: str, array: np.ndarray, path: Path) -> None:
    """Refuse an array whose values would be cast silently (text ids, float indices)."""
    kinds = _KINDS.get(name, "U")
    if array.dtype.kind not in kinds:
        want = {"fiu": "numbers", "iu": "integers", "U": "text"}[kinds]
        raise _not_features(path, f"'{name}' holds {array.dtype} values, not {want}")
    if kinds == "iu" and array.dtype.kind == "u" and array.size and array.max() >= 2**63:
        raise _not_features(path, f"'{name}' holds values beyond 64-bit integers")


def _array(data: Any, name: str, path: Path) -> np.ndarray:
    """One array of the archive; object (pickled) arrays are refused, not loaded."""
    try:
        return data[name]
    except ValueError as exc:
        if "pickle" not in str(exc).lower() and "object" not in str(exc).lower():
            raise
        raise _not_features(path, f"'{name}' holds pickled Python objects") from None
