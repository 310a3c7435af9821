"""What every footreid model declares (ModelSpec), returns (ReidOutput) and offers (ReidModel).

The caller builds its transforms from ``model.spec`` (input size, mean/std), so the
input size a model was trained at travels with it: ``models`` never imports ``data``,
and evaluating at another size than the trained one takes an explicit override.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any, NamedTuple

import torch
from torch import nn

from footreid.core.size import ImageSize

IMAGENET_MEAN: tuple[float, float, float] = (0.485, 0.456, 0.406)
IMAGENET_STD: tuple[float, float, float] = (0.229, 0.224, 0.225)
CLIP_MEAN: tuple[float, float, float] = (0.48145466, 0.4578275, 0.40821073)
CLIP_STD: tuple[float, float, float] = (0.26862954, 0.26130258, 0.27577711)


@dataclass(frozen=True)
class ModelSpec:
    """Static facts about a built model.

    Attributes:
        name: registered model name (without a weights tag).
        input_size: (H, W) pixels the model expects by default (or was trained at).
        mean, std: per-channel RGB normalisation of [0, 1] images.
        embed_dim: D of the (N, D) embedding returned in eval mode.
        classifier_keys: state-dict key prefixes that may differ between checkpoints
            (the identity classifier, sized by the training set).
        patch_size: ViT patch size (input sides must be multiples of it), None for CNNs.
        parameter_free: True for a fixed function of the pixels (a colour histogram):
            nothing to train or load, and the same output on every build.
    """

    name: str
    input_size: ImageSize
    mean: tuple[float, float, float]
    std: tuple[float, float, float]
    embed_dim: int
    classifier_keys: tuple[str, ...]
    patch_size: int | None = None
    parameter_free: bool = False

    def __post_init__(self) -> None:
        object.__setattr__(self, "input_size", ImageSize(*self.input_size))

    def to_dict(self) -> dict[str, Any]:
        """Plain-types view (lists instead of tuples) for JSON/YAML files."""
        return {k: list(v) if isinstance(v, tuple) else v for k, v in asdict(self).items()}


class ReidOutput(NamedTuple):
    """What a model returns in train mode.

    Attributes:
        embedding: (N, D) float, the vector used at inference (post-BNNeck where there
            is one), not L2-normalised.
        feature: (N, D') float, the pre-BN vector for metric losses (triplet, centroid).
        logits: (N, C) float identity logits, or None when the model has no classifier.
    """

    embedding: torch.Tensor
    feature: torch.Tensor
    logits: torch.Tensor | None


class ReidModel(nn.Module):
    """Base of every registered model.

    ``forward(x)`` takes (N, 3, H, W) float normalised images and returns a
    :class:`ReidOutput` in train mode, the (N, D) embedding in eval mode.
    Subclasses set ``spec``, ``classifier_path`` and implement ``_make_classifier``.
    """

    spec: ModelSpec
    model_name: str
    model_kwargs: dict[str, Any]
    classifier_path: str = "classifier"
    """Dotted attribute path of the classifier (a Linear, or None without classes)."""

    def __init__(self) -> None:
        super().__init__()
        self.model_name = ""
        self.model_kwargs = {}

    @property
    def num_classes(self) -> int:
        """Number of identity classes of the classifier (0 without one)."""
        owner, attr = self._classifier_owner_and_name()
        layer = getattr(owner, attr)
        return 0 if layer is None else int(layer.out_features)

    def reset_classifier(self, num_classes: int) -> None:
        """Replace the identity classifier by a freshly initialised one (0 removes it)."""
        owner, attr = self._classifier_owner_and_name()
        setattr(owner, attr, self._make_classifier(num_classes))

    def _make_classifier(self, num_classes: int) -> nn.Linear | None:
        raise NotImplementedError

    def _classifier_owner_and_name(self) -> tuple[nn.Module, str]:
        *parents, attr = self.classifier_path.split(".")
        owner: nn.Module = self
        for part in parents:
            owner = getattr(owner, part)
        return owner, attr

    def param_counts(self) -> dict[str, int]:
        """Parameter counts: ``total``, ``trainable`` (requires_grad) and ``classifier``."""
        owner, attr = self._classifier_owner_and_name()
        classifier = getattr(owner, attr)
        return {
            "total": sum(p.numel() for p in self.parameters()),
            "trainable": sum(p.numel() for p in self.parameters() if p.requires_grad),
            "classifier": 0
            if classifier is None
            else sum(p.numel() for p in classifier.parameters()),
        }
