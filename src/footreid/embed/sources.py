"""Where an embedding model comes from: a checkpoint, an ONNX file, an Open Model Zoo IR
(``.xml``), or a registry name.

The input size is never a silent default: a checkpoint carries the size it was last
trained at, and a registry model uses its ModelSpec's size, which is logged. Embedding
at another size takes an explicit ``input_size`` and is logged as a warning, because a
model evaluated at a size it was not trained at loses accuracy without any error.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from footreid.core.errors import ConfigError
from footreid.core.log import get_logger
from footreid.core.registry import suggest
from footreid.core.size import ImageSize
from footreid.embed.model import EmbedModel
from footreid.embed.onnx_runtime import load_onnx_model

log = get_logger(__name__)


def load_checkpoint_model(path: str | Path) -> EmbedModel:
    """Load a training checkpoint strictly, at the input size it was trained at.

    Args:
        path: a file written by ``footreid train`` (holds ``input_size`` [H, W]).

    Raises:
        WeightsError: not a valid training checkpoint (see ``load_trained``).
    """
    from footreid.models import load_trained

    path = Path(path)
    model, _ = load_trained(path, map_location="cpu")
    size = model.spec.input_size  # the trained size, checked by the checkpoint reader
    log.info("%s: %s at its trained input size %s", path.name, model.spec.name, size)
    return EmbedModel.of(model, size, checkpoint=path)


def load_registry_model(
    name: str, pretrained: str = "none", options: dict[str, Any] | None = None
) -> EmbedModel:
    """Build a registered model with ``pretrained`` weights, at its ModelSpec input size.

    Args:
        name: a name of ``footreid.models.list_models()``.
        pretrained: "none", a weights file, or a tag the models package resolves.
        options: the family's options (``{"parts": 2}`` for ``hsv``), checked against
            its options dataclass.
    """
    from footreid.models import create_model

    model = create_model(name, num_classes=0, pretrained=pretrained, **(options or {}))
    size = model.spec.input_size
    log.info(
        "%s (pretrained=%s): no checkpoint, so the ModelSpec input size %s is used",
        name,
        pretrained,
        size,
    )
    weights = Path(pretrained) if pretrained != "none" and Path(pretrained).is_file() else None
    return EmbedModel.of(model, size, checkpoint=weights, pretrained=pretrained)


def check_holds_its_weights(path: Path, pretrained: str, options: dict[str, Any] | None) -> None:
    """Refuse weights or family options for a source that records its own (a file, a folder)."""
    if pretrained != "none":
        raise ConfigError(f"{path} holds its weights itself: drop --pretrained {pretrained}")
    if options:
        raise ConfigError(
            f"{path} is a checkpoint (it records its model options): drop the options "
            f"{', '.join(sorted(options))}"
        )


def _load_file(path: Path, pretrained: str, options: dict[str, Any] | None) -> EmbedModel:
    """A checkpoint or an ONNX file, which hold their weights and options themselves."""
    check_holds_its_weights(path, pretrained, options)
    if path.suffix.lower() == ".onnx":
        return load_onnx_model(path)
    if path.suffix.lower() == ".xml":  # an Open Model Zoo IR: the registry model it is
        from footreid.models.omz import model_name_of_ir

        return load_registry_model(model_name_of_ir(path), str(path))
    return load_checkpoint_model(path)


def _check_registry_name(source: str) -> None:
    from footreid.models import list_models

    names = list_models()
    if source.partition(".")[0] not in names:
        raise ConfigError(
            f"'{source}' is neither a checkpoint file nor a registered model name; "
            f"{suggest(source, names)}"
        )


def load_embed_model(
    source: str | Path,
    pretrained: str = "none",
    input_size: Any = None,
    options: dict[str, Any] | None = None,
) -> EmbedModel:
    """Resolve ``source`` (a checkpoint file or a registry name) to an :class:`EmbedModel`.

    Args:
        source: a training checkpoint path, an ``.onnx`` file of ``footreid export-onnx``
            (run by ONNX Runtime), or a registered model name.
        pretrained: weights of a registry model ("none", a file, a tag); must stay
            "none" for a checkpoint, which holds its own weights.
        input_size: (H, W) override (anything :meth:`ImageSize.parse` reads); a size
            other than the recorded one is logged as a warning.
        options: family options of a registry model (see :func:`load_registry_model`);
            a checkpoint or ONNX file records its own, so they must stay empty there.
    """
    path = Path(source)
    if path.is_file():
        loaded = _load_file(path, pretrained, options)
    else:
        _check_registry_name(str(source))
        loaded = load_registry_model(str(source), pretrained, options)
    return with_input_size(loaded, input_size)


def with_input_size(loaded: EmbedModel, input_size: Any) -> EmbedModel:
    """``loaded`` at an (H, W) override (None: its own size); another size is a warning."""
    if input_size is not None:
        size = ImageSize.parse(input_size, "input size override")
        if size != loaded.input_size:
            log.warning(
                "embedding at %s although %s is set for %s", size, loaded.name, loaded.input_size
            )
        loaded.input_size = size
    return loaded
