"""``EmbedModel``: a model ready to embed crops, with what its features file must record.

Every embedding source ends here: a training checkpoint or a registry model
(:mod:`.sources`), an exported ONNX file (:mod:`.onnx_runtime`) and the model being
trained (the validation callback of ``footreid.experiment.training``). One record, so a
features file says the same things whichever source made it.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from footreid.core.io import sha256_file
from footreid.core.model_record import FEATURES, ModelRecord
from footreid.core.size import ImageSize


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
    input_size: ImageSize
    mean: tuple[float, ...]
    std: tuple[float, ...]
    is_cnn: bool
    checkpoint: str | None
    checkpoint_sha256: str | None
    pretrained: str | None = None
    backend: str = "torch"
    options: dict[str, Any] = field(default_factory=dict)

    @classmethod
    def of(
        cls,
        model: Any,
        input_size: ImageSize,
        checkpoint: Path | None = None,
        pretrained: str | None = None,
    ) -> EmbedModel:
        """Wrap a footreid model (a ReidModel with ``spec``) to embed at ``input_size``.

        Args:
            model: the network; it is put in eval mode.
            input_size: the size to embed at (the trained one, unless overridden).
            checkpoint: the file its weights come from (hashed for the features meta).
            pretrained: the ``pretrained`` value of a registry model, None otherwise.
        """
        spec = model.spec
        return cls(
            model=model.eval(),
            name=str(getattr(model, "model_name", "") or spec.name),
            input_size=ImageSize(*input_size),
            mean=tuple(float(v) for v in spec.mean),
            std=tuple(float(v) for v in spec.std),
            is_cnn=spec.patch_size is None,
            checkpoint=None if checkpoint is None else str(checkpoint),
            checkpoint_sha256=None if checkpoint is None else sha256_file(checkpoint),
            pretrained=pretrained,
            options=dict(getattr(model, "model_kwargs", {}) or {}),
        )

    def record(self) -> ModelRecord:
        """The model's input contract, as every file format records it."""
        dim = getattr(getattr(self.model, "spec", None), "embed_dim", None)
        return ModelRecord(
            name=self.name,
            input_size=self.input_size,
            mean=_three(self.mean),
            std=_three(self.std),
            embed_dim=None if dim is None else int(dim),
            options=dict(self.options),
        )

    def meta(self) -> dict[str, Any]:
        """The model part of a features file's ``meta`` (options as plain JSON values)."""
        return {
            **self.record().to_record(FEATURES),  # model, model_options, input_size, mean...
            "checkpoint": self.checkpoint,
            "checkpoint_sha256": self.checkpoint_sha256,
            "pretrained": self.pretrained,
            "backend": self.backend,
        }


def _three(values: tuple[float, ...]) -> tuple[float, float, float] | None:
    return (float(values[0]), float(values[1]), float(values[2])) if len(values) == 3 else None
