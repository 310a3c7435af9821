"""Features of each (model, split), cached in ``RUN/features/<model>__<split>.npz``.

A cached file is reused when its ``meta`` matches the key: checkpoint SHA-256 (or
registry model + weights + options), split, dataset root, input size, flip TTA and
precision. Any other change (a new ensemble, new weights, new re-ranking presets)
re-uses it, so adding rows to the table never re-embeds.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from footreid.core.errors import DataError
from footreid.core.io import sha256_file
from footreid.core.log import get_logger
from footreid.core.records import FeatureSet
from footreid.embed.extract import (
    EmbedOptions,
    embed_split,
    resolve_device,
    resolve_precision,
)
from footreid.embed.sources import EmbedModel, load_embed_model, plain_options
from footreid.experiment.config import ModelSection

log = get_logger(__name__)

KEY_FIELDS = (
    "checkpoint_sha256",
    "model",
    "pretrained",
    "model_options",
    "split",
    "dataset_root",
    "input_size",
    "flip_tta",
    "precision",
)


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


def features_path(run_dir: Path, model: str, split: str) -> Path:
    """``run_dir/features/<model>__<split>.npz``."""
    return run_dir / "features" / f"{model}__{split}.npz"


def _checkpoint_size(path: Path) -> list[int]:
    """The ``input_size`` a training checkpoint records, read without loading its tensors."""
    import torch

    try:
        ckpt = torch.load(path, map_location="cpu", weights_only=True, mmap=True)
        return [int(v) for v in ckpt["input_size"]]
    except Exception:  # any unreadable file: load_embed_model reports it precisely
        return []


def expected_key(
    entry: ModelSection, root: str | Path, split: str, options: EmbedOptions
) -> dict[str, Any]:
    """The meta values a reusable features file must hold (see :data:`KEY_FIELDS`).

    For a checkpoint, its hash fixes the model and, unless overridden, the input size;
    for a registry model, the name, the options and the weights (hash of the file when
    one is given).
    """
    key: dict[str, Any] = {
        "split": split,
        "dataset_root": str(Path(root).resolve()),
        "flip_tta": bool(options.flip_tta),
        "precision": resolve_precision(options.precision, resolve_device(options.device)),
    }
    if entry.checkpoint is not None:
        path = Path(entry.checkpoint)
        key["checkpoint_sha256"] = sha256_file(path) if path.is_file() else None
        key["input_size"] = entry.input_size or _checkpoint_size(path)
    else:
        weights = Path(entry.pretrained)
        key["model"] = str(entry.model)
        key["pretrained"] = entry.pretrained
        key["model_options"] = plain_options(entry.options)
        key["checkpoint_sha256"] = sha256_file(weights) if weights.is_file() else None
        if entry.input_size:
            key["input_size"] = list(entry.input_size)
    return key


def _matches(meta: dict[str, Any], key: dict[str, Any]) -> list[str]:
    """Names of the key fields whose values differ from ``meta``'s."""
    return [k for k, v in key.items() if meta.get(k) != v]


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
        path = features_path(self.run_dir, name, split)
        key = expected_key(entry, self.root, split, self.options)
        if path.is_file():
            try:
                cached = FeatureSet.load(path)
            except DataError as exc:
                log.warning("%s: unreadable (%s), embedding again", path, exc.problem)
            else:
                stale = _matches(cached.meta, key)
                if not stale:
                    log.info("%s on %s: cached features %s", entry.name, split, path.name)
                    seconds = float(cached.meta.get("embed_seconds", 0.0))
                    return EmbeddedModel(cached, path, True, seconds)
                log.info("%s: stale cache (%s changed), embedding again", path, ", ".join(stale))
        start = time.perf_counter()
        features = embed_split(self._model(entry, name), self.root, split, replace(self.options))
        features.save(path)
        return EmbeddedModel(features, path, False, time.perf_counter() - start)
