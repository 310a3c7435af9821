"""Embeddings of a split: batched forward passes, flip TTA, bf16 where native, L2-normalised.

The input size comes from the model source (the size a checkpoint was trained at), and
flip TTA (the mean of the embeddings of the crop and of its mirror image) is on by
default: features computed at another size than the trained one, or without the mirror
view, lose mAP silently. Device, precision and backend are resolved once, at the top of
:func:`embed_split` (:func:`footreid.embed.plan.resolve_plan`: the same device and
precision rule as training), and the frozen plan is passed down. What runs the network
is a backend of :mod:`footreid.embed.registry` (``torch`` by default, ``auto`` for the
fastest that passes parity on this machine). Crops travel as uint8 until one
normalisation per batch (:mod:`footreid.embed.batching`), and flip TTA sends both views
through one forward pass.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import torch

from footreid.core.errors import ConfigError
from footreid.core.log import get_logger, track
from footreid.core.records import FeatureSet, Sample
from footreid.data.transforms import normalize_batch
from footreid.embed.backends import Runner, embed_views
from footreid.embed.batching import crop_loader, default_num_workers, eval_transform
from footreid.embed.model import EmbedModel
from footreid.embed.plan import EmbedOptions, EmbedPlan, resolve_plan, settings
from footreid.embed.registry import AUTO, build_runner, candidates, wants_calibration
from footreid.embed.sources import load_embed_model

__all__ = ["EmbedOptions", "embed_settings", "embed_split", "extract_features", "prepare_runner"]

log = get_logger(__name__)


def embed_settings(options: EmbedOptions, backend: str = "torch") -> tuple[torch.device, str]:
    """The device and the precision embedding runs at (:func:`footreid.embed.plan.settings`).

    Args:
        options: the embedding options (``options.backend`` the requested backend).
        backend: the source's kind (``EmbedModel.backend``): ``onnx`` for a ``.onnx`` file.

    Returns:
        The device and ``fp32``/``bf16``/``fp16``/``int8``; for ``auto`` the precision
        that was asked (the chosen backend's is only known once it is chosen).
    """
    device, _, precision = settings(options, backend)
    return device, precision


def extract_features(
    embed_model: EmbedModel,
    paths: Sequence[str | Path],
    options: EmbedOptions,
    calibration: Sequence[str | Path] | None = None,
    runner: Runner | None = None,
    plan: EmbedPlan | None = None,
) -> np.ndarray:
    """Embed image files.

    Args:
        embed_model: the model and its input size / normalisation.
        paths: N image files.
        options: batching, TTA, device, precision and backend.
        calibration: training crop files, for the ``openvino-int8`` backend (and for
            ``auto`` to let INT8 compete); None otherwise.
        runner: a runner built before (:func:`prepare_runner`), to embed several lists
            without converting the model each time; None builds one from ``plan``.
        plan: resolved before (:func:`~footreid.embed.plan.resolve_plan`); None:
            resolved here from ``options``.

    Returns:
        (N, D) float32, rows L2-normalised, in the order of ``paths``.
    """
    plan = plan or resolve_plan(embed_model, options)
    return _extract(embed_model, paths, options, plan, calibration, runner)[0]


def prepare_runner(
    embed_model: EmbedModel,
    plan: EmbedPlan,
    first_batch: torch.Tensor | None,
    calibration: Sequence[str | Path] | None = None,
) -> Runner:
    """The runner ``plan.backend`` names (for ``auto``: chosen on ``first_batch``).

    Args:
        embed_model: the model.
        plan: from :func:`~footreid.embed.plan.resolve_plan`.
        first_batch: (B, 3, H, W) float32 normalised crops, for ``auto``'s parity check
            and timing (None: ``auto`` is refused where it has a choice to make).
        calibration: training crop files for INT8.
    """
    if plan.backend != AUTO:
        return build_runner(embed_model, plan, calibration)
    from footreid.embed.auto import choose_backend

    names = candidates(plan.source_kind, plan.device.type)
    if len(names) > 1 and first_batch is None:
        raise ConfigError("backend auto needs crops to measure the backends on")
    return choose_backend(embed_model, first_batch, plan, calibration)


def _extract(
    embed_model: EmbedModel,
    paths: Sequence[str | Path],
    options: EmbedOptions,
    plan: EmbedPlan,
    calibration: Sequence[str | Path] | None,
    runner: Runner | None = None,
) -> tuple[np.ndarray, Runner | None]:
    """:func:`extract_features`, and the runner that embedded (None without crops)."""
    transform = eval_transform(embed_model.input_size, embed_model.mean, embed_model.std)
    workers = options.num_workers
    if workers is None:
        workers = default_num_workers(plan.device.type)
    loader = crop_loader(paths, transform, options.batch_size, workers)
    out = np.zeros((len(paths), int(embed_model.model.spec.embed_dim)), dtype=np.float32)
    start, done = time.perf_counter(), 0
    for batch in track(loader, f"embed {embed_model.name}", total=len(loader)):
        images = normalize_batch(batch, embed_model.mean, embed_model.std)
        if runner is None:
            runner = prepare_runner(embed_model, plan, images, calibration)
        emb = embed_views(runner, images, plan.flip_tta)
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
        runner.name if runner else plan.backend,
        runner.precision if runner else "-",
        plan.flip_tta,
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
    plan: EmbedPlan | None = None,
) -> FeatureSet:
    """A :class:`FeatureSet` of query/gallery samples (meta: the model's, TTA, precision).

    Args:
        embed_model: see :func:`load_embed_model`.
        samples: query and gallery crops (role "query" or "gallery").
        options: see :class:`EmbedOptions`.
        split_dir: folder the stored paths are made relative to (absolute paths if None).
        calibration: training crop files for INT8 (see :func:`extract_features`).
        plan: resolved before; None: resolved here from ``options``.

    The meta records the backend and precision that actually ran (``auto`` resolved).
    """
    start = time.perf_counter()
    plan = plan or resolve_plan(embed_model, options)
    paths = [s.path for s in samples]
    feats, runner = _extract(embed_model, paths, options, plan, calibration)
    backend, precision = plan.backend, plan.precision
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
            "flip_tta": plan.flip_tta,
            "normalized": True,
            "precision": precision,
            "backend": backend,
            "device": plan.device.type,
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
    plan = resolve_plan(embed_model, options)
    calibration = _calibration_crops(root, plan.backend)
    features = features_from_samples(
        embed_model, samples, options, eval_set.folder, calibration, plan
    )
    features.meta.update({"split": split, "dataset_root": str(Path(root).resolve())})
    return features


def _calibration_crops(root: str | Path, backend: str) -> list[Path] | None:
    """Training crops that calibrate INT8: a seeded draw of the dataset's train split.

    Only for a calibrating backend (``openvino-int8``) and ``auto``; None when the dataset
    has no train split (``auto`` then leaves INT8 out, ``openvino-int8`` says what is missing).
    """
    if not wants_calibration(backend):
        return None
    from footreid.data.soccernet import find_reid_root, read_train
    from footreid.embed.openvino import CALIBRATION_CROPS

    if not (find_reid_root(root) / "train").is_dir():
        log.info("%s has no train split: no crops to calibrate INT8 on", root)
        return None
    paths = [Path(s.path) for s in read_train(root)]
    order = np.random.default_rng(0).permutation(len(paths))[:CALIBRATION_CROPS]
    return [paths[i] for i in sorted(order)]
