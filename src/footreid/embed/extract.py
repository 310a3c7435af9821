"""Embeddings of a split: batched forward passes, flip TTA, bf16 where native, L2-normalised.

The input size comes from the model source (the size a checkpoint was trained at), and
flip TTA (the mean of the embeddings of the crop and of its mirror image) is on by
default: features computed at another size than the trained one, or without the mirror
view, lose mAP silently. Device and precision are resolved by
:mod:`footreid.core.hardware`, the same rule as training (``auto``: bf16 autocast where
the device computes bf16 natively, fp32 elsewhere). What runs the network is
``EmbedOptions.backend`` (:mod:`footreid.embed.backends`; ``torch`` by default, ``auto``
for the fastest that passes parity on this machine). Crops travel as uint8 until one
normalisation per batch (:mod:`footreid.embed.batching`), and flip TTA sends both views
through one forward pass.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from footreid.core.errors import ConfigError
from footreid.core.hardware import resolve_device, resolve_precision
from footreid.core.log import get_logger, track
from footreid.core.records import FeatureSet, Sample
from footreid.data.transforms import normalize_batch
from footreid.embed.backends import (
    Runner,
    backend_precision,
    build_runner,
    embed_views,
    runtime_backend,
)
from footreid.embed.batching import crop_loader, default_num_workers, eval_transform
from footreid.embed.model import EmbedModel
from footreid.embed.sources import load_embed_model

log = get_logger(__name__)


@dataclass
class EmbedOptions:
    """How to run the model over the crops.

    Attributes:
        flip_tta: average the embeddings of each crop and of its horizontal mirror.
        batch_size: crops per forward pass (each pass holds 2x that with flip TTA).
        num_workers: decoding processes; None: sized to the usable cores
            (:func:`footreid.embed.batching.default_num_workers`: none on 1-2 cores).
        device: "auto" (CUDA when available, else CPU), "cpu", "cuda", "cuda:1", ...
        precision: "auto", "fp32", "bf16" (autocast; channels_last for CNNs) or "fp16"
            (CUDA); ``auto`` is bf16 where the device computes bf16 natively (a CUDA GPU
            with bf16, a CPU with AVX-512 BF16 or AMX), fp32 elsewhere
            (:func:`footreid.core.hardware.resolve_precision`).
        channels_last: convert a CNN to NHWC (faster convolutions under autocast); None:
            yes under bf16/fp16, no under fp32. The conversion changes the model in place,
            so validation during training passes the run's own setting.
        backend: what runs the model (:mod:`footreid.embed.backends`): ``torch``,
            ``onnx`` (ONNX Runtime, fp32), ``openvino`` (bf16 where native, else fp32),
            ``openvino-int8`` (needs training crops to calibrate) or ``auto`` (the
            fastest that passed a parity check on this machine, :mod:`footreid.embed.auto`).
    """

    flip_tta: bool = True
    batch_size: int = 64
    num_workers: int | None = None
    device: str = "auto"
    precision: str = "auto"
    channels_last: bool | None = None
    backend: str = "torch"


def embed_settings(options: EmbedOptions, backend: str = "torch") -> tuple[torch.device, str]:
    """The device and the resolved precision embedding runs at.

    Args:
        options: the embedding options (``options.backend`` the requested backend).
        backend: the source's kind (``EmbedModel.backend``): ``onnx`` for a ``.onnx``
            file, which ONNX Runtime runs at fp32 unless an OpenVINO backend is asked.

    Returns:
        The device and ``fp32``/``bf16``/``fp16``/``int8``; for ``auto`` the precision
        that was asked (the chosen backend's is only known once it is chosen).
    """
    device = resolve_device(options.device)
    requested = options.backend
    if requested == "torch" and backend == "onnx":
        requested = "onnx"
    if requested == "auto":
        return device, resolve_precision(options.precision, device)
    return device, backend_precision(requested, options.precision, device)


def extract_features(
    embed_model: EmbedModel,
    paths: Sequence[str | Path],
    options: EmbedOptions,
    calibration: Sequence[str | Path] | None = None,
    runner: Runner | None = None,
) -> np.ndarray:
    """Embed image files.

    Args:
        embed_model: the model and its input size / normalisation.
        paths: N image files.
        options: batching, TTA, device, precision and backend.
        calibration: training crop files, for the ``openvino-int8`` backend (and for
            ``auto`` to let INT8 compete); None otherwise.
        runner: a runner built before (:func:`prepare_runner`), to embed several lists
            without converting the model each time; None builds one from ``options``.

    Returns:
        (N, D) float32, rows L2-normalised, in the order of ``paths``.
    """
    return _extract(embed_model, paths, options, calibration, runner)[0]


def prepare_runner(
    embed_model: EmbedModel,
    options: EmbedOptions,
    first_batch: torch.Tensor | None,
    calibration: Sequence[str | Path] | None = None,
) -> Runner:
    """The runner ``options.backend`` names (for ``auto``: chosen on ``first_batch``).

    Args:
        embed_model: the model.
        options: see :class:`EmbedOptions`.
        first_batch: (B, 3, H, W) float32 normalised crops, for ``auto``'s parity check
            and timing (None: ``auto`` is refused).
        calibration: training crop files for INT8.
    """
    device = resolve_device(options.device)
    if options.backend == "auto":
        if first_batch is None:
            raise ConfigError("backend auto needs crops to measure the backends on")
        from footreid.embed.auto import choose_backend

        if device.type != "cpu":  # the CPU backends cannot compete on a GPU
            return build_runner(embed_model, "torch", options.precision, device)
        return choose_backend(
            embed_model, first_batch, options.precision, options.flip_tta, calibration
        )
    return build_runner(
        embed_model, options.backend, options.precision, device, options.channels_last, calibration
    )


def _extract(
    embed_model: EmbedModel,
    paths: Sequence[str | Path],
    options: EmbedOptions,
    calibration: Sequence[str | Path] | None,
    runner: Runner | None = None,
) -> tuple[np.ndarray, Runner | None]:
    """:func:`extract_features`, and the runner that embedded (None without crops)."""
    transform = eval_transform(embed_model.input_size, embed_model.mean, embed_model.std)
    workers = options.num_workers
    if workers is None:
        workers = default_num_workers(resolve_device(options.device).type)
    loader = crop_loader(paths, transform, options.batch_size, workers)
    out = np.zeros((len(paths), int(embed_model.model.spec.embed_dim)), dtype=np.float32)
    start, done = time.perf_counter(), 0
    for batch in track(loader, f"embed {embed_model.name}", total=len(loader)):
        images = normalize_batch(batch, embed_model.mean, embed_model.std)
        if runner is None:
            runner = prepare_runner(embed_model, options, images, calibration)
        emb = embed_views(runner, images, options.flip_tta)
        if done == 0 and emb.shape[1] != out.shape[1]:
            out = np.zeros((len(paths), emb.shape[1]), dtype=np.float32)
        out[done : done + len(emb)] = emb.numpy()
        done += len(emb)
    assert done == len(paths), "the loader lost or duplicated crops"
    elapsed = time.perf_counter() - start
    log.info(
        "embedded %d crops with %s (%s %s, flip TTA %s, %d workers) in %.1f s (%.1f crops/s)",
        done,
        embed_model.name,
        runner.name if runner else options.backend,
        runner.precision if runner else "-",
        options.flip_tta,
        loader.num_workers,
        elapsed,
        done / max(elapsed, 1e-9),
    )
    return out, runner


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
    calibration: Sequence[str | Path] | None = None,
) -> FeatureSet:
    """A :class:`FeatureSet` of query/gallery samples (meta: the model's, TTA, precision).

    Args:
        embed_model: see :func:`load_embed_model`.
        samples: query and gallery crops (role "query" or "gallery").
        options: see :class:`EmbedOptions`.
        split_dir: folder the stored paths are made relative to (absolute paths if None).
        calibration: training crop files for INT8 (see :func:`extract_features`).

    The meta records the backend and precision that actually ran (``auto`` resolved).
    """
    start = time.perf_counter()
    device, precision = embed_settings(options, embed_model.backend)
    paths = [s.path for s in samples]
    feats, runner = _extract(embed_model, paths, options, calibration)
    backend = runtime_backend(options.backend, embed_model)
    if runner is not None:
        backend, precision = runner.name, runner.precision
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
            "backend": backend,
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
    calibration = _calibration_crops(root, options.backend)
    features = features_from_samples(embed_model, samples, options, eval_set.folder, calibration)
    features.meta.update({"split": split, "dataset_root": str(Path(root).resolve())})
    return features


def _calibration_crops(root: str | Path, backend: str) -> list[Path] | None:
    """Training crops that calibrate INT8: a seeded draw of the dataset's train split.

    Only for ``openvino-int8`` and ``auto``; None when the dataset has no train split
    (``auto`` then leaves INT8 out, ``openvino-int8`` says what is missing).
    """
    if backend not in ("openvino-int8", "auto"):
        return None
    from footreid.data.soccernet import find_reid_root, read_train
    from footreid.embed.openvino import CALIBRATION_CROPS

    if not (find_reid_root(root) / "train").is_dir():
        log.info("%s has no train split: no crops to calibrate INT8 on", root)
        return None
    paths = [Path(s.path) for s in read_train(root)]
    order = np.random.default_rng(0).permutation(len(paths))[:CALIBRATION_CROPS]
    return [paths[i] for i in sorted(order)]
