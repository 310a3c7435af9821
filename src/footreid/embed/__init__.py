"""Checkpoints to features files: batched, flip TTA, bf16 where native, L2-normalised.

Backends (``EmbedOptions.backend``): torch, onnx, openvino, openvino-int8, auto
(:mod:`footreid.embed.backends`, :mod:`footreid.embed.auto`).

``embed_split(source, root, split, options)`` is the one call behind ``footreid embed``.
Device and precision come from :mod:`footreid.core.hardware` (re-exported here).
"""

from footreid.core.hardware import (
    PRECISIONS,
    cpu_has_native_bf16,
    resolve_device,
    resolve_precision,
)
from footreid.embed.backends import BACKEND_CHOICES, BACKENDS, Runner, build_runner
from footreid.embed.extract import (
    EmbedOptions,
    embed_settings,
    embed_split,
    extract_features,
    features_from_samples,
    prepare_runner,
)
from footreid.embed.model import EmbedModel
from footreid.embed.sources import load_embed_model

__all__ = [
    "BACKENDS",
    "BACKEND_CHOICES",
    "PRECISIONS",
    "Runner",
    "build_runner",
    "prepare_runner",
    "EmbedModel",
    "EmbedOptions",
    "cpu_has_native_bf16",
    "embed_settings",
    "embed_split",
    "extract_features",
    "features_from_samples",
    "load_embed_model",
    "resolve_device",
    "resolve_precision",
]
