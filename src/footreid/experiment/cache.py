"""Features of each (model, split), cached in ``RUN/features/<model>__<split>.npz``.

A cached file is reused when its ``meta`` matches the key (:func:`expected_key`):
checkpoint SHA-256 (or registry model + weights + options), split, dataset root, input
size, flip TTA and precision. Any other change (a new ensemble, new weights, new
re-ranking presets) re-uses it, so adding rows to the table never re-embeds.
"""

from __future__ import annotations

import functools
import time
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from footreid.core.errors import DataError
from footreid.core.io import sha256_file
from footreid.core.layout import ExperimentLayout
from footreid.core.log import get_logger
from footreid.core.model_record import plain
from footreid.core.publish import publishable
from footreid.core.records import FeatureSet
from footreid.embed.extract import EmbedOptions, embed_settings, embed_split
from footreid.embed.model import EmbedModel
from footreid.embed.sources import load_embed_model
from footreid.experiment.config import ModelSection
from footreid.models import trained_input_size

log = get_logger(__name__)


@dataclass
class EmbeddedModel:
    """Features of one model for one split and how they were obtained.

    Attributes:
        features: the features.
        path: their file in the run.
        cached: True when the file was reused.
        seconds: embedding time (of the run that wrote the file, when cached).
    """

    features: FeatureSet
    path: Path
    cached: bool
    seconds: float


def _recorded_size(path: Path, backend: str) -> list[int]:
    """The input size a checkpoint (or an exported ONNX file) records."""
    stat = path.stat() if path.is_file() else None
    if stat is None:  # the loader names the missing file and the fix
        return _read_size(path, backend)
    return list(_read_size_once(str(path.resolve()), stat.st_mtime_ns, stat.st_size, backend))


def _read_size(path: Path, backend: str) -> list[int]:
    if backend == "onnx":
        from footreid.embed.onnx_runtime import read_metadata

        return list(read_metadata(path)["input_size"])  # opens a session: read once
    return trained_input_size(path).to_list()


@functools.lru_cache(maxsize=64)
def _read_size_once(path: str, mtime_ns: int, size: int, backend: str) -> tuple[int, ...]:
    """:func:`_read_size` once per file version (its key: path, mtime, size)."""
    return tuple(_read_size(Path(path), backend))


@functools.lru_cache(maxsize=64)
def _sha256_once(path: str, mtime_ns: int, size: int) -> str:
    return sha256_file(Path(path))


def _file_sha256(path: Path) -> str | None:
    """The file's SHA-256, hashed once per file version; None when it is absent."""
    if not path.is_file():
        return None
    stat = path.stat()
    return _sha256_once(str(path.resolve()), stat.st_mtime_ns, stat.st_size)


def expected_key(
    entry: ModelSection, root: str | Path, split: str, options: EmbedOptions
) -> dict[str, Any]:
    """The meta values a reusable features file must hold.

    For a checkpoint, its hash fixes the model and, unless overridden, the input size it
    records; for a registry model, the name, the options and the weights (hash of the
    file when one is given). The precision is the resolved one (``auto`` never matches).

    Raises:
        WeightsError: a checkpoint that is missing or unreadable (named with the fix).
    """
    backend = "onnx" if str(entry.checkpoint or "").lower().endswith(".onnx") else "torch"
    key: dict[str, Any] = {
        "split": split,
        "dataset_root": str(Path(root).resolve()),
        "flip_tta": bool(options.flip_tta),
        "precision": embed_settings(options, backend)[1],
    }
    if entry.checkpoint is not None:
        path = Path(entry.checkpoint)
        key["checkpoint_sha256"] = _file_sha256(path)
        key["input_size"] = list(entry.input_size or _recorded_size(path, backend))
    else:
        weights = Path(entry.pretrained)
        key["model"] = str(entry.model)
        key["pretrained"] = entry.pretrained
        key["model_options"] = plain(entry.options)
        key["checkpoint_sha256"] = _file_sha256(weights)
        if entry.input_size:
            key["input_size"] = list(entry.input_size)
    return key


def _matches(meta: dict[str, Any], key: dict[str, Any], folder: Path) -> list[str]:
    """Names of the key fields whose values differ from ``meta``'s.

    Compared as the features file records them (paths relative to its ``folder``, see
    :mod:`footreid.core.publish`), so a key holding absolute paths matches its file.
    """
    base = folder.resolve()
    return [k for k, v in key.items() if publishable(meta.get(k), base) != publishable(v, base)]


class FeatureCache:
    """Embeds each model once per split, re-using matching files of the run.

    Args:
        run_dir: the experiment's run directory.
        root: dataset folder.
        options: embedding options (batching, TTA, device, precision).
    """

    def __init__(self, run_dir: Path, root: str | Path, options: EmbedOptions) -> None:
        self.run_dir, self.root, self.options = Path(run_dir), root, options
        self._models: dict[str, EmbedModel] = {}

    def _model(self, entry: ModelSection, name: str) -> EmbedModel:
        if name not in self._models:
            source = entry.checkpoint if entry.checkpoint is not None else str(entry.model)
            pretrained = "none" if entry.checkpoint is not None else entry.pretrained
            size = tuple(entry.input_size) if entry.input_size else None
            options = entry.options if entry.checkpoint is None else None
            loaded = load_embed_model(source, pretrained, size, options)  # type: ignore[arg-type]
            self._models[name] = loaded
        return self._models[name]

    def get(self, entry: ModelSection, split: str, file_name: str | None = None) -> EmbeddedModel:
        """Features of ``entry`` on ``split``: the cached file when its key matches.

        ``file_name`` (default ``entry.name``) names the file and the loaded model, e.g.
        ``<model>.seed<k>`` for one training seed of a recipe model.
        """
        name = file_name or entry.name
        path = ExperimentLayout(self.run_dir).features_file(name, split)
        key = expected_key(entry, self.root, split, self.options)
        if path.is_file():
            try:
                cached = FeatureSet.load(path)
            except DataError as exc:
                log.warning("%s: unreadable (%s), embedding again", path, exc.problem)
            else:
                stale = _matches(cached.meta, key, path.parent)
                if not stale:
                    log.info("%s on %s: cached features %s", entry.name, split, path.name)
                    seconds = float(cached.meta.get("embed_seconds", 0.0))
                    return EmbeddedModel(cached, path, True, seconds)
                log.info("%s: stale cache (%s changed), embedding again", path, ", ".join(stale))
        start = time.perf_counter()
        features = embed_split(self._model(entry, name), self.root, split, replace(self.options))
        features.save(path)
        return EmbeddedModel(features, path, False, time.perf_counter() - start)
