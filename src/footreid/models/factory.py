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
from footreid.core.layout import RESUME_KEYS
from footreid.core.registry import Registry
from footreid.core.size import ImageSize
from footreid.models.checkpoint import Checkpoint, read_checkpoint
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
            (state dict) and ``config`` (resolved config dict); read by
            :func:`~footreid.models.checkpoint.read_checkpoint`.
        map_location: device the tensors are loaded to.

    Returns:
        ``(model, info)``: the model in eval mode, its ``spec.input_size`` set to the
        trained size; ``info`` holds every checkpoint entry except ``model`` and the
        resume state (:data:`~footreid.core.layout.RESUME_KEYS`), plus ``path``.
    """
    ckpt = read_checkpoint(path, map_location)  # checks the record: a bad file fails cheaply
    state_dict = strip_prefixes(unwrap_state_dict(ckpt.entries["model"], ckpt.path))
    model = _rebuild(ckpt, state_dict)
    load_state_dict_strict(model, state_dict, (), str(ckpt.path))
    ckpt.record.check_model(model.spec, str(ckpt.path))
    model.to(map_location).eval()
    model.spec = dataclasses.replace(model.spec, input_size=ckpt.record.input_size)
    info = {k: v for k, v in ckpt.entries.items() if k not in ("model", *RESUME_KEYS)}
    info["input_size"] = ckpt.record.input_size.to_list()
    info["path"] = str(ckpt.path)
    return model, info


def _rebuild(ckpt: Checkpoint, state_dict: dict[str, torch.Tensor]) -> ReidModel:
    """The checkpoint's model, built only once its recorded entries and weights agree.

    The model is first built on "meta" (no memory) and its keys and shapes compared with
    the file's, so an edited ``num_classes`` cannot make it allocate a huge classifier.
    """
    name, classes, kwargs = ckpt.record.name, ckpt.num_classes, ckpt.record.options
    try:
        with torch.device("meta"):
            skeleton = create_model(name, classes, NONE, **kwargs)
    except (FootreidError, ValueError, TypeError) as exc:  # unknown name, bad options
        raise WeightsError(f"{ckpt.path}: cannot rebuild its model ({exc})") from None
    load_state_dict_strict(skeleton, state_dict, (), str(ckpt.path), check_only=True)
    return create_model(name, classes, NONE, **kwargs)


def trained_input_size(path: str | Path) -> ImageSize:
    """The (H, W) a training checkpoint was last trained at, read without building a model.

    The file is memory-mapped, so this costs milliseconds even for a large model.

    Raises:
        WeightsError: missing or unreadable file, or one that is not a valid checkpoint.
    """
    return read_checkpoint(path, "cpu", mmap=True).record.input_size


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
