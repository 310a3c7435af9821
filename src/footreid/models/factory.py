"""The model registry: ``create_model``, ``list_models``, ``model_spec``, ``load_trained``.

A family module registers one short builder per name with ``@register_model(name,
Options)``: the builder takes ``(num_classes, pretrained, options)``, ``options`` an
instance of the family's :class:`~footreid.models.options.ModelOptions` dataclass, and
returns a :class:`~footreid.models.spec.ReidModel`. Names may carry a weights tag after a
dot (``vit_base_patch16_clip_224.openai``), which is the same as ``pretrained="openai"``.
"""

from __future__ import annotations

import dataclasses
import inspect
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch

from footreid.core.errors import ConfigError, FootreidError, WeightsError
from footreid.core.layout import CHECKPOINT_KEYS, RESUME_KEYS
from footreid.core.registry import Registry
from footreid.core.size import ImageSize
from footreid.models.options import ModelOptions, parse_options
from footreid.models.spec import ModelSpec, ReidModel
from footreid.models.state_dict import load_state_dict_strict, strip_prefixes, unwrap_state_dict
from footreid.models.weights import NONE

Builder = Callable[[int, str, Any], ReidModel]


@dataclass(frozen=True)
class ModelEntry:
    """A registered model: its builder and the dataclass of its options."""

    build: Builder
    options: type[ModelOptions]

    @property
    def summary(self) -> str:
        """The first line of the builder's docstring."""
        doc = inspect.getdoc(self.build) or ""
        return doc.splitlines()[0] if doc else ""


MODELS: Registry[ModelEntry] = Registry("model")


def register_model(name: str, options: type[ModelOptions]) -> Callable[[Builder], Builder]:
    """Decorator registering ``builder(num_classes, pretrained, options) -> ReidModel``."""

    def decorator(builder: Builder) -> Builder:
        MODELS.register(name)(ModelEntry(builder, options))
        return builder

    return decorator


def list_models() -> list[str]:
    """Sorted registered model names."""
    return MODELS.names()


def create_model(
    name: str, num_classes: int = 0, pretrained: str = NONE, **kwargs: Any
) -> ReidModel:
    """Build a registered model, optionally with pretrained weights.

    Args:
        name: registered name, optionally ``name.tag`` where ``tag`` selects weights.
        num_classes: identity classes of the classifier (0: none; eval-only models).
        pretrained: ``none``, ``imagenet``/``default``, a weights tag or a file path
            (see :mod:`footreid.models.weights`); never falls back to random weights.
        **kwargs: the family's options (``input_size=(H, W)``, ``lora=...``, ...).

    Returns:
        The model in train mode, with ``.spec``, ``.model_name`` and ``.model_kwargs``
        (what rebuilds it with ``create_model(model_name, num_classes, **model_kwargs)``).
    """
    base, _, tag = name.partition(".")
    if tag:
        if pretrained not in (NONE, tag):
            raise ConfigError(
                f"model name '{name}' selects weights '{tag}' but pretrained='{pretrained}'; "
                "give the weights once"
            )
        pretrained = tag
    entry = MODELS.get(base)
    options = parse_options(base, entry.options, kwargs)
    model = entry.build(num_classes, str(pretrained), options)
    model.model_name = base
    model.model_kwargs = {**kwargs, **model.model_kwargs}
    return model


def model_spec(name: str, **kwargs: Any) -> ModelSpec:
    """The ModelSpec of a registered model with ``kwargs``, built without weights on "meta".

    Cheap (no memory, no initialisation, no download): for checks before a run, such as
    whether a model is ``parameter_free``. A weights tag after a dot is ignored.

    Raises:
        RegistryError: unknown name; ConfigError: unknown or invalid options.
    """
    with torch.device("meta"):
        return create_model(name.partition(".")[0], **kwargs).spec


def load_trained(
    path: str | Path, map_location: str | torch.device = "cpu"
) -> tuple[ReidModel, dict[str, Any]]:
    """Rebuild a model from a training checkpoint and load its weights strictly.

    Args:
        path: a ``torch.save``'d dict with ``model_name``, ``model_kwargs``,
            ``num_classes``, ``input_size`` ([H, W] last trained at), ``model``
            (state dict) and ``config`` (resolved config dict).
        map_location: device the tensors are loaded to.

    Returns:
        ``(model, info)``: the model in eval mode, its ``spec.input_size`` set to the
        trained size; ``info`` holds every checkpoint entry except ``model`` and the
        resume state (:data:`~footreid.core.layout.RESUME_KEYS`), plus ``path``.
    """
    path = Path(path)
    ckpt = _read_checkpoint(path, map_location)
    missing = [k for k in CHECKPOINT_KEYS if k not in ckpt]
    if missing:
        raise WeightsError(
            f"{path}: not a footreid training checkpoint (missing {', '.join(missing)}); "
            "pass a checkpoint written by footreid training, or use --pretrained for "
            "backbone weights"
        )
    input_size = _recorded_size(ckpt, path)  # before building: a bad file fails cheaply
    state_dict = strip_prefixes(unwrap_state_dict(ckpt["model"], path))
    model = _rebuild(ckpt, state_dict, path)
    load_state_dict_strict(model, state_dict, (), str(path))
    model.to(map_location).eval()
    model.spec = dataclasses.replace(model.spec, input_size=input_size)
    info = {k: v for k, v in ckpt.items() if k not in ("model", *RESUME_KEYS)}
    info["input_size"] = input_size.to_list()
    info["path"] = str(path)
    return model, info


def _rebuild(ckpt: dict[str, Any], state_dict: dict[str, torch.Tensor], path: Path) -> ReidModel:
    """The checkpoint's model, built only once its recorded entries and weights agree.

    The model is first built on "meta" (no memory) and its keys and shapes compared with
    the file's, so an edited ``num_classes`` cannot make it allocate a huge classifier.
    """
    name, classes, kwargs = ckpt["model_name"], ckpt["num_classes"], ckpt["model_kwargs"]
    if not (
        isinstance(name, str)
        and type(classes) is int
        and isinstance(kwargs, dict)
        and all(isinstance(k, str) for k in kwargs)
    ):
        raise WeightsError(
            f"{path}: model_name {name!r}, num_classes {classes!r} and model_kwargs {kwargs!r} "
            "must be a name, an integer and a mapping of options; the file was damaged or "
            "edited: use the checkpoint footreid training wrote"
        )
    try:
        with torch.device("meta"):
            skeleton = create_model(name, classes, NONE, **kwargs)
    except (FootreidError, ValueError, TypeError) as exc:  # unknown name, bad options
        raise WeightsError(f"{path}: cannot rebuild its model ({exc})") from None
    load_state_dict_strict(skeleton, state_dict, (), str(path), check_only=True)
    return create_model(name, classes, NONE, **kwargs)


def trained_input_size(path: str | Path) -> ImageSize:
    """The (H, W) a training checkpoint was last trained at, read without loading tensors.

    The file is memory-mapped, so this costs milliseconds even for a large model.

    Raises:
        WeightsError: missing or unreadable file, or one that records no valid input size.
    """
    path = Path(path)
    ckpt = _read_checkpoint(path, "cpu", mmap=True)
    if "input_size" not in ckpt:
        raise WeightsError(
            f"{path}: records no 'input_size' (not a footreid training checkpoint); "
            "pass a checkpoint written by footreid training"
        )
    return _recorded_size(ckpt, path)


def _recorded_size(ckpt: dict[str, Any], path: Path) -> ImageSize:
    """The checkpoint's ``input_size``, checked (a bad one is a WeightsError)."""
    try:
        return ImageSize.parse(ckpt["input_size"], f"{path} input_size")
    except ConfigError as exc:
        raise WeightsError(str(exc)) from None


def _read_checkpoint(
    path: Path, map_location: str | torch.device, mmap: bool = False
) -> dict[str, Any]:
    if not path.is_file():
        raise WeightsError(f"checkpoint {path} does not exist")
    try:
        ckpt = torch.load(path, map_location=map_location, weights_only=True, mmap=mmap)
    except Exception as exc:  # unpickling errors come in several types
        reason = (str(exc) or type(exc).__name__).splitlines()[0][:300]  # EOFError has no text
        raise WeightsError(
            f"{path}: cannot be read as a checkpoint ({reason}); "
            "checkpoints must hold only tensors and plain Python values"
        ) from exc
    if not isinstance(ckpt, dict):
        raise WeightsError(f"{path}: expected a dict checkpoint, got {type(ckpt).__name__}")
    return ckpt


def describe_models(pattern: str = "") -> list[dict[str, Any]]:
    """One row per registered model whose name contains ``pattern`` (built on ``meta``).

    Returns:
        Dicts with ``name``, ``params`` and ``trainable`` (without classifier, default
        options), ``input_size`` (H, W), ``embed_dim``, ``patch_size``,
        ``parameter_free`` and ``summary``.
    """
    rows = []
    for name in list_models():
        if pattern not in name:
            continue
        with torch.device("meta"):  # shapes only: no memory, no initialisation cost
            model = create_model(name)
        counts = model.param_counts()
        rows.append(
            {
                "name": name,
                "params": counts["total"],
                "trainable": counts["trainable"],
                "input_size": model.spec.input_size,
                "embed_dim": model.spec.embed_dim,
                "patch_size": model.spec.patch_size,
                "parameter_free": model.spec.parameter_free,
                "summary": MODELS.get(name).summary,
            }
        )
    return rows
