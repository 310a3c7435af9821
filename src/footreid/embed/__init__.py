"""Checkpoints to features files: batched, flip TTA, bf16 where native, L2-normalised.

Backends (``EmbedOptions.backend``): torch, onnx, openvino, openvino-int8, auto
(:mod:`footreid.embed.registry`, :mod:`footreid.embed.auto`); the plan that fixes
device, precision and backend once: :mod:`footreid.embed.plan`.

``embed_split(source, root, split, options)`` is the one call behind ``footreid embed``.
Device and precision come from :mod:`footreid.core.hardware` (re-exported here).
"""

from footreid.core.hardware import (
    PRECISIONS,
    cpu_has_native_bf16,
    resolve_device,
    resolve_precision,
)
from footreid.embed.backends import Runner
from footreid.embed.extract import (
    embed_settings,
    embed_split,
    extract_features,
    features_from_samples,
    prepare_runner,
)
from footreid.embed.model import EmbedModel
from footreid.embed.plan import EmbedOptions, EmbedPlan, resolve_plan
from footreid.embed.registry import backend_choices, backend_names, build_runner
from footreid.embed.sources import load_embed_model

__all__ = [
    "PRECISIONS",
    "Runner",
    "build_runner",
    "prepare_runner",
    "EmbedModel",
    "EmbedOptions",
    "EmbedPlan",
    "backend_choices",
    "backend_names",
    "resolve_plan",
    "cpu_has_native_bf16",
    "embed_settings",
    "embed_split",
    "extract_features",
    "features_from_samples",
    "load_embed_model",
    "resolve_device",
    "resolve_precision",
]
