"""Embeddings of a split: batched forward passes, flip TTA, bf16 where native, L2-normalised.

The input size comes from the model source (the size a checkpoint was trained at), and
flip TTA (the mean of the embeddings of the crop and of its mirror image) is on by
default: features computed at another size than the trained one, or without the mirror
view, lose mAP silently. Device and precision are resolved by
:mod:`footreid.core.hardware`, the same rule as training (``auto``: bf16 autocast where
the device computes bf16 natively, fp32 elsewhere).
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from footreid.core.hardware import autocast, resolve_device, resolve_precision
from footreid.core.log import get_logger, track
from footreid.core.records import FeatureSet, Sample
from footreid.embed.batching import crop_loader, eval_transform
from footreid.embed.model import EmbedModel
from footreid.embed.sources import load_embed_model

log = get_logger(__name__)


@dataclass
class EmbedOptions:
    """How to run the model over the crops.

    Attributes:
        flip_tta: average the embeddings of each crop and of its horizontal mirror.
        batch_size: crops per forward pass (each pass holds 2x that with flip TTA).
        num_workers: decoding processes; None = min(4, CPU count).
        device: "auto" (CUDA when available, else CPU), "cpu", "cuda", "cuda:1", ...
        precision: "auto", "fp32", "bf16" (autocast; channels_last for CNNs) or "fp16"
            (CUDA); ``auto`` is bf16 where the device computes bf16 natively (a CUDA GPU
            with bf16, a CPU with AVX-512 BF16 or AMX), fp32 elsewhere
            (:func:`footreid.core.hardware.resolve_precision`).
        channels_last: convert a CNN to NHWC (faster convolutions under autocast); None:
            yes under bf16/fp16, no under fp32. The conversion changes the model in place,
            so validation during training passes the run's own setting.
    """

    flip_tta: bool = True
    batch_size: int = 64
    num_workers: int | None = None
    device: str = "auto"
    precision: str = "auto"
    channels_last: bool | None = None


def embed_settings(options: EmbedOptions, backend: str = "torch") -> tuple[torch.device, str]:
    """The device and the resolved precision embedding runs at.

    ONNX Runtime sessions always run their fp32 graph, whatever ``options.precision``.
    """
    device = resolve_device(options.device)
    if backend == "onnx":
        return device, "fp32"
    return device, resolve_precision(options.precision, device)


def extract_features(
    embed_model: EmbedModel, paths: Sequence[str | Path], options: EmbedOptions
) -> np.ndarray:
    """Embed image files.

    Args:
        embed_model: the model and its input size / normalisation.
        paths: N image files.
        options: batching, TTA, device and precision.

    Returns:
        (N, D) float32, rows L2-normalised, in the order of ``paths``.
    """
    device, precision = embed_settings(options, embed_model.backend)
    return _extract(embed_model, paths, options, device, precision)


def _extract(
    embed_model: EmbedModel,
    paths: Sequence[str | Path],
    options: EmbedOptions,
    device: torch.device,
    precision: str,
) -> np.ndarray:
    """:func:`extract_features` at a resolved device and precision."""
    channels_last = embed_model.is_cnn and (
        precision != "fp32" if options.channels_last is None else options.channels_last
    )
    model = embed_model.model.to(device).eval()
    if channels_last:
        model = model.to(memory_format=torch.channels_last)
    transform = eval_transform(embed_model.input_size, embed_model.mean, embed_model.std)
    loader = crop_loader(paths, transform, options.batch_size, options.num_workers)
    out: np.ndarray | None = None
    start, done = time.perf_counter(), 0
    with torch.inference_mode():
        for batch in track(loader, f"embed {embed_model.name}", total=len(loader)):
            emb = _embed_batch(model, batch.to(device), options.flip_tta, precision, channels_last)
            if out is None:
                out = np.empty((len(paths), emb.shape[1]), dtype=np.float32)
            out[done : done + len(emb)] = emb.cpu().numpy()
            done += len(emb)
    if out is None:
        out = np.zeros((0, int(embed_model.model.spec.embed_dim)), dtype=np.float32)
    assert done == len(paths), "the loader lost or duplicated crops"
    elapsed = time.perf_counter() - start
    log.info(
        "embedded %d crops with %s (%s, %s, flip TTA %s) in %.1f s (%.1f crops/s)",
        done,
        embed_model.name,
        device,
        precision,
        options.flip_tta,
        elapsed,
        done / max(elapsed, 1e-9),
    )
    return out


def _embed_batch(
    model: torch.nn.Module, x: torch.Tensor, flip_tta: bool, precision: str, channels_last: bool
) -> torch.Tensor:
    """(B, 3, H, W) -> (B, D) float32 L2-normalised; flip TTA runs both views in one pass."""
    n = x.shape[0]
    if flip_tta:
        x = torch.cat([x, torch.flip(x, dims=[3])])
    if channels_last:
        x = x.contiguous(memory_format=torch.channels_last)
    with autocast(x.device, precision):
        emb = model(x)
    emb = emb.float()
    if flip_tta:
        emb = (emb[:n] + emb[n:]) / 2
    return torch.nn.functional.normalize(emb, dim=1)


def _relative(path: Path, folder: Path | None) -> str:
    if folder is None:
        return path.resolve().as_posix()
    try:
        return path.resolve().relative_to(folder.resolve()).as_posix()
    except ValueError:
        return path.as_posix()


def features_from_samples(
    embed_model: EmbedModel,
    samples: Sequence[Sample],
    options: EmbedOptions,
    split_dir: Path | None = None,
) -> FeatureSet:
    """A :class:`FeatureSet` of query/gallery samples (meta: the model's, TTA, precision).

    Args:
        embed_model: see :func:`load_embed_model`.
        samples: query and gallery crops (role "query" or "gallery").
        options: see :class:`EmbedOptions`.
        split_dir: folder the stored paths are made relative to (absolute paths if None).
    """
    start = time.perf_counter()
    device, precision = embed_settings(options, embed_model.backend)
    feats = _extract(embed_model, [s.path for s in samples], options, device, precision)
    return FeatureSet(
        features=feats,
        bbox_idx=[s.bbox_idx for s in samples],
        action_idx=[s.action_idx for s in samples],
        person_uid=[s.person_uid or "" for s in samples],
        role=[s.role for s in samples],
        path=[_relative(Path(s.path), split_dir) for s in samples],
        clazz=[s.clazz or "" for s in samples],
        meta={
            **embed_model.meta(),
            "flip_tta": bool(options.flip_tta),
            "normalized": True,
            "precision": precision,
            "device": device.type,
            "embed_seconds": round(time.perf_counter() - start, 3),
        },
    )


def embed_split(
    source: str | Path | EmbedModel,
    root: str | Path,
    split: str,
    options: EmbedOptions | None = None,
    pretrained: str = "none",
) -> FeatureSet:
    """Embed the query and gallery crops of one split of a SoccerNet-layout dataset.

    Args:
        source: a training checkpoint, a registry name (with ``pretrained``), or an
            already loaded :class:`EmbedModel`.
        root: dataset folder (anything ``find_reid_root`` accepts).
        split: valid, test or challenge.
        options: see :class:`EmbedOptions` (defaults when None).
        pretrained: weights of a registry model ("none", a file, a tag).

    Returns:
        The features, query rows first then gallery rows (each in ``bbox_idx`` order of
        the reader); ``meta`` adds the split and the dataset root.
    """
    from footreid.data.soccernet import read_eval_split

    options = options or EmbedOptions()
    embed_model = source if isinstance(source, EmbedModel) else load_embed_model(source, pretrained)
    eval_set = read_eval_split(root, split)
    samples = [*eval_set.query, *eval_set.gallery]
    log.info(
        "%s %s: %d queries, %d gallery crops",
        root,
        split,
        len(eval_set.query),
        len(eval_set.gallery),
    )
    features = features_from_samples(embed_model, samples, options, eval_set.folder)
    features.meta.update({"split": split, "dataset_root": str(Path(root).resolve())})
    return features
