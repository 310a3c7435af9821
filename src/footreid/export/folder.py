"""Model folders: what a hub hosts and ``footreid.load(DIR)`` reads back to the same features.

A folder holds three files, written atomically one by one:

* ``model.safetensors``: the inference weights (the identity classifier is dropped: it
  is sized by the training set and never used to embed), in ``precision``;
* ``config.json``: what rebuilds the model and what any other tool needs to feed it --
  architecture and options, input size, mean/std, embedding size, weight precision, the
  preprocessing in words, the training data and the whole resolved training config, the
  validation record and the measured results given at export;
* ``README.md``: the model card (:mod:`.card`), with those numbers.

The checkpoint's own record is the source: nothing here is typed in by hand.
"""

from __future__ import annotations

import dataclasses
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch

from footreid._version import __version__
from footreid.core.errors import ConfigError, FootreidError, MissingDependencyError, WeightsError
from footreid.core.io import atomic_write_many, check_writable, sha256_file
from footreid.core.log import get_logger
from footreid.core.model_record import FOLDER, ModelRecord
from footreid.core.publish import publishable
from footreid.embed.model import EmbedModel
from footreid.export.card import model_card
from footreid.export.results import read_results

log = get_logger(__name__)

FORMAT = "footreid-model"
FORMAT_VERSION = 1
WEIGHTS_FILE = "model.safetensors"
CONFIG_FILE = "config.json"
CARD_FILE = "README.md"
FOLDER_FILES: tuple[str, ...] = (CONFIG_FILE, WEIGHTS_FILE, CARD_FILE)
PRECISIONS: dict[str, torch.dtype] = {
    "fp32": torch.float32,
    "fp16": torch.float16,
    "bf16": torch.bfloat16,
}
PREPROCESSING = {
    "color": "RGB",
    "resize": "to input_size (H, W) with bilinear interpolation (Pillow), aspect ratio not kept",
    "scale": "uint8 / 255 -> [0, 1]",
    "normalize": "(x - mean) / std per channel",
    "layout": "NCHW float32",
}
EMBEDDING = {
    "output": "(N, embed_dim) float32, not L2-normalised by the network",
    "normalize": "L2 (footreid.load(...).embed returns unit vectors)",
    "distance": "cosine (1 - dot product of unit vectors); lower is closer",
    "flip_tta": "footreid averages the embeddings of a crop and its mirror by default",
}


@dataclass(frozen=True)
class ModelFolder:
    """A written model folder.

    Attributes:
        path: the folder.
        config: the contents of its ``config.json``.
    """

    path: Path
    config: dict[str, Any]


def _training_record(info: dict[str, Any], checkpoint: Path) -> dict[str, Any]:
    """Training data, recipe (the resolved config) and validation record of a checkpoint."""
    config = info.get("config") if isinstance(info.get("config"), dict) else {}
    data = config.get("data") if isinstance(config.get("data"), dict) else {}
    return {
        "checkpoint": checkpoint.name,
        "checkpoint_sha256": sha256_file(checkpoint),
        "data": data.get("root"),
        "run": config.get("name"),
        "pretrained": (config.get("model") or {}).get("pretrained"),
        "validation": info.get("best"),
        "last_epoch_metrics": info.get("metrics"),
        "config": config,
    }


def folder_config(
    model: torch.nn.Module, info: dict[str, Any], checkpoint: Path, precision: str
) -> dict[str, Any]:
    """The ``config.json`` of ``model`` loaded from ``checkpoint`` (``load_trained`` info)."""
    return {
        "format": FORMAT,
        "format_version": FORMAT_VERSION,
        "footreid_version": __version__,
        **ModelRecord.of(model).to_record(FOLDER),  # architecture, options, size, mean/std, D
        "precision": precision,
        "preprocessing": PREPROCESSING,
        "embedding": EMBEDDING,
        "training": _training_record(info, checkpoint),
        "results": [],
    }


def _weights_bytes(model: torch.nn.Module, precision: str) -> bytes:
    try:
        from safetensors.torch import save
    except ImportError:
        raise MissingDependencyError("safetensors", "hub") from None
    dtype = PRECISIONS[precision]
    state = {
        k: (v.to(dtype) if v.is_floating_point() else v).detach().cpu().contiguous()
        for k, v in model.state_dict().items()
    }
    return save(state, metadata={"format": "pt", "footreid": FORMAT})


def export_model_folder(
    checkpoint: str | Path,
    out: str | Path,
    results: str | Path | None = None,
    precision: str = "fp32",
) -> ModelFolder:
    """Write a training checkpoint as a model folder (weights, config, model card).

    Args:
        checkpoint: a ``footreid train`` checkpoint (``best.pt``).
        out: the folder (created; footreid's three files in it are replaced).
        results: a ``footreid evaluate --json`` file of this model's features, whose
            numbers go into the config and the model card.
        precision: dtype of the stored weights: "fp32" (features identical to the
            checkpoint's), "fp16" or "bf16" (half the size; loaded back as float32).

    Returns:
        The folder and its config.

    Raises:
        ConfigError: unknown precision. WeightsError: not a training checkpoint.
    """
    from footreid.models import load_trained

    if precision not in PRECISIONS:
        raise ConfigError(f"precision: one of {', '.join(PRECISIONS)}, got '{precision}'")
    checkpoint, out = Path(checkpoint), Path(out)
    check_writable(out)  # a read-only destination fails before the checkpoint is read
    model, info = load_trained(checkpoint, map_location="cpu")
    model.reset_classifier(0)
    config = folder_config(model, info, checkpoint, precision)
    if results is not None:
        config["results"] = read_results(results)
    for key in ("training", "results"):  # a folder is published: no path of this machine
        config[key] = publishable(config[key])
    files = {  # written together: a folder never mixes new weights with an old config
        out / WEIGHTS_FILE: _weights_bytes(model, precision),
        out / CONFIG_FILE: (json.dumps(config, indent=2) + "\n").encode("utf-8"),
        out / CARD_FILE: model_card(config).encode("utf-8"),
    }
    atomic_write_many(files)
    log.info(
        "wrote %s (%s, %s weights) to %s", checkpoint.name, config["architecture"], precision, out
    )
    return ModelFolder(out, config)


def read_folder_config(folder: str | Path) -> dict[str, Any]:
    """The ``config.json`` of a model folder, checked for its format and required fields.

    Raises:
        WeightsError: no config, not JSON, another format, or a missing field.
    """
    return _read_folder(folder)[0]


def _read_folder(folder: str | Path) -> tuple[dict[str, Any], ModelRecord]:
    """The ``config.json`` of a model folder and its model record, both checked."""
    path = Path(folder) / CONFIG_FILE
    if not path.is_file():
        raise WeightsError(
            f"{folder}: not a footreid model folder (no {CONFIG_FILE}); write one with "
            "`footreid export-model CHECKPOINT DIR`"
        )
    try:
        config = json.loads(path.read_text(encoding="utf-8"))
    except (ValueError, RecursionError) as exc:  # bad JSON or UTF-8; nested thousands deep
        raise WeightsError(f"{path}: not valid JSON ({exc})") from None
    if not isinstance(config, dict) or config.get("format") != FORMAT:
        raise WeightsError(f"{path}: 'format' must be '{FORMAT}' (a footreid model folder)")
    if type(config.get("format_version", 0)) is not int:
        raise WeightsError(f"{path}: format_version {config['format_version']!r} is not an integer")
    if config.get("format_version", 0) > FORMAT_VERSION:
        raise WeightsError(
            f"{path}: format_version {config.get('format_version')} is newer than this "
            f"footreid reads ({FORMAT_VERSION}); upgrade footreid"
        )
    return config, ModelRecord.from_record(config, FOLDER, str(path))


def load_model_folder(folder: str | Path) -> EmbedModel:
    """Rebuild the model of a folder, weights loaded strictly, at its recorded input size.

    Args:
        folder: a folder written by :func:`export_model_folder` (or downloaded from a hub).

    Returns:
        An :class:`EmbedModel` in float32 whose features equal the source checkpoint's
        (for fp32 weights).

    Raises:
        WeightsError: a missing file or field, weights that do not fit the architecture,
            or a mean/std that disagrees with the architecture's.
    """
    from footreid.models import create_model
    from footreid.models.state_dict import load_state_dict_strict, read_state_dict

    folder = Path(folder)
    record = _read_folder(folder)[1]
    weights = folder / WEIGHTS_FILE
    if not weights.is_file():
        raise WeightsError(f"{folder}: {WEIGHTS_FILE} is missing (the model's weights)")
    state = {
        k: v.float() if v.is_floating_point() else v for k, v in read_state_dict(weights).items()
    }
    try:  # on "meta" first: edited options cannot allocate a model the weights do not fit
        with torch.device("meta"):
            skeleton = create_model(record.name, num_classes=0, **record.options)
    except (FootreidError, ValueError, TypeError) as exc:
        raise WeightsError(f"{folder / CONFIG_FILE}: cannot rebuild its model ({exc})") from None
    load_state_dict_strict(skeleton, state, (), str(weights), check_only=True)
    model = create_model(record.name, num_classes=0, **record.options)
    load_state_dict_strict(model, state, (), str(weights))
    record.check_model(model.spec, str(folder / CONFIG_FILE))
    model.spec = dataclasses.replace(model.spec, input_size=record.input_size)
    return EmbedModel.of(model.eval(), record.input_size, checkpoint=weights)
