"""Where an embedding model comes from: a training checkpoint or a registry name + weights.

The input size is never a silent default (SPEC.md section 4, mistake 2): a checkpoint
carries the size it was last trained at, and a registry model uses its ModelSpec's size,
which is logged.
"""

from __future__ import annotations

import difflib
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from footreid.core.errors import ConfigError, WeightsError
from footreid.core.io import sha256_file
from footreid.core.log import get_logger

log = get_logger(__name__)


@dataclass
class EmbedModel:
    """A model ready to embed crops, with what the features file must record.

    Attributes:
        model: the network in eval mode; ``model(x)`` maps (N, 3, H, W) float32 normalised
            images to the (N, D) embedding (not L2-normalised).
        name: registered model name.
        input_size: (H, W) pixels the crops are resized to.
        mean, std: per-channel RGB normalisation of [0, 1] images.
        is_cnn: True for convolutional models (channels_last helps them on CPU).
        checkpoint: the checkpoint or weights file, or None (random or named weights).
        checkpoint_sha256: hex SHA-256 of that file, or None.
        pretrained: the ``pretrained`` argument of a registry model, None for checkpoints.
        backend: "torch", or "onnx" for an exported file run by ONNX Runtime (fp32).
        options: the family options the model was built with (``model_kwargs``: those
            given to a registry model, or those a checkpoint records).
    """

    model: Any
    name: str
    input_size: tuple[int, int]
    mean: tuple[float, ...]
    std: tuple[float, ...]
    is_cnn: bool
    checkpoint: str | None
    checkpoint_sha256: str | None
    pretrained: str | None = None
    backend: str = "torch"
    options: dict[str, Any] = field(default_factory=dict)

    def meta(self) -> dict[str, Any]:
        """The model part of a features file's ``meta`` (options as plain JSON values)."""
        return {
            "model": self.name,
            "model_options": plain_options(self.options),
            "input_size": list(self.input_size),
            "checkpoint": self.checkpoint,
            "checkpoint_sha256": self.checkpoint_sha256,
            "pretrained": self.pretrained,
            "backend": self.backend,
        }


def plain_options(options: dict[str, Any]) -> dict[str, Any]:
    """``options`` as a features file stores them: JSON values (tuples become lists)."""
    return json.loads(json.dumps(options, sort_keys=True, default=str))


def _size_pair(value: Any, where: str) -> tuple[int, int]:
    try:
        h, w = (int(v) for v in value)
    except (TypeError, ValueError):
        raise ConfigError(f"{where}: input size must be [H, W], got {value!r}") from None
    if h <= 0 or w <= 0:
        raise ConfigError(f"{where}: input size must be positive, got {value!r}")
    return h, w


def _from_model(
    model: Any,
    input_size: tuple[int, int],
    checkpoint: Path | None,
    pretrained: str | None,
) -> EmbedModel:
    spec = model.spec
    return EmbedModel(
        model=model.eval(),
        name=str(getattr(model, "model_name", "") or spec.name),
        input_size=input_size,
        mean=tuple(float(v) for v in spec.mean),
        std=tuple(float(v) for v in spec.std),
        is_cnn=spec.patch_size is None,
        checkpoint=None if checkpoint is None else str(checkpoint),
        checkpoint_sha256=None if checkpoint is None else sha256_file(checkpoint),
        pretrained=pretrained,
        options=dict(getattr(model, "model_kwargs", {}) or {}),
    )


def load_checkpoint_model(path: str | Path) -> EmbedModel:
    """Load a training checkpoint strictly, at the input size it was trained at.

    Args:
        path: a file written by ``footreid train`` (holds ``input_size`` [H, W]).

    Raises:
        WeightsError: the checkpoint records no input size.
    """
    from footreid.models import load_trained

    path = Path(path)
    model, info = load_trained(path, map_location="cpu")
    if info.get("input_size") is None:
        raise WeightsError(
            f"{path}: the checkpoint records no 'input_size' (the size it was trained at); "
            "re-save it with footreid train, or embed the registry name with --pretrained "
            "to use the model's default size"
        )
    size = _size_pair(info["input_size"], f"{path} input_size")
    log.info("%s: %s at its trained input size %dx%d", path.name, model.spec.name, *size)
    return _from_model(model, size, path, None)


def load_registry_model(
    name: str, pretrained: str = "none", options: dict[str, Any] | None = None
) -> EmbedModel:
    """Build a registered model with ``pretrained`` weights, at its ModelSpec input size.

    Args:
        name: a name of ``footreid.models.list_models()``.
        pretrained: "none", a weights file, or a tag the models package resolves.
        options: the family's keyword options (``{"parts": 2}`` for ``hsv``), checked
            against the builder's signature.
    """
    from footreid.models import create_model

    model = create_model(name, num_classes=0, pretrained=pretrained, **(options or {}))
    size = _size_pair(model.spec.input_size, f"ModelSpec of {name}")
    log.info(
        "%s (pretrained=%s): no checkpoint, so the ModelSpec input size %dx%d is used",
        name,
        pretrained,
        *size,
    )
    weights = Path(pretrained) if pretrained != "none" and Path(pretrained).is_file() else None
    return _from_model(model, size, weights, pretrained)


def load_embed_model(
    source: str | Path,
    pretrained: str = "none",
    input_size: tuple[int, int] | None = None,
    options: dict[str, Any] | None = None,
) -> EmbedModel:
    """Resolve ``source`` (a checkpoint file or a registry name) to an :class:`EmbedModel`.

    Args:
        source: a training checkpoint path, an ``.onnx`` file of ``footreid export-onnx``
            (run by ONNX Runtime), or a registered model name.
        pretrained: weights of a registry model ("none", a file, a tag); must stay
            "none" for a checkpoint, which holds its own weights.
        input_size: (H, W) override; a size other than the recorded one is logged as a
            warning (the model was not trained at it).
        options: family options of a registry model (see :func:`load_registry_model`);
            a checkpoint or ONNX file records its own, so they must stay empty there.
    """
    path = Path(source)
    if path.is_file():
        if pretrained != "none":
            raise ConfigError(
                f"{path} is a checkpoint (it holds its weights): drop --pretrained {pretrained}"
            )
        if options:
            raise ConfigError(
                f"{path} is a checkpoint (it records its model options): drop the options "
                f"{', '.join(sorted(options))}"
            )
        if path.suffix.lower() == ".onnx":
            from footreid.embed.onnx_runtime import load_onnx_model

            loaded = load_onnx_model(path)
        else:
            loaded = load_checkpoint_model(path)
    else:
        from footreid.models import list_models

        names = list_models()
        if str(source).partition(".")[0] not in names:
            close = difflib.get_close_matches(str(source), names, n=3, cutoff=0.5)
            hint = f"; did you mean {', '.join(close)}?" if close else ""
            raise ConfigError(
                f"'{source}' is neither a checkpoint file nor a registered model name{hint} "
                "(footreid.models.list_models() lists the names)"
            )
        loaded = load_registry_model(str(source), pretrained, options)
    if input_size is not None:
        size = _size_pair(input_size, "input_size override")
        if size != loaded.input_size:
            log.warning(
                "embedding at %dx%d although %s is set for %dx%d",
                *size,
                loaded.name,
                *loaded.input_size,
            )
        loaded.input_size = size
    return loaded
