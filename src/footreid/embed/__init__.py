"""Checkpoints to features files: batched, flip TTA, bf16 on CPU, L2-normalised.

``embed_split(source, root, split, options)`` is the one call behind ``footreid embed``.
"""

from footreid.embed.extract import (
    PRECISIONS,
    EmbedOptions,
    cpu_has_native_bf16,
    embed_split,
    extract_features,
    features_from_samples,
    resolve_device,
    resolve_precision,
)
from footreid.embed.sources import EmbedModel, load_embed_model

__all__ = [
    "PRECISIONS",
    "EmbedModel",
    "EmbedOptions",
    "cpu_has_native_bf16",
    "embed_split",
    "extract_features",
    "features_from_samples",
    "load_embed_model",
    "resolve_device",
    "resolve_precision",
]
