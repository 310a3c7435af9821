"""``footreid.load``: a trained model in three lines, for trackers, notebooks and scripts.

    import footreid
    enc = footreid.load("runs/train/snmot_osnet/seed0/checkpoints/best.pt")
    feats = enc.embed(crops)  # (N, D) float32 unit vectors

A source is a training checkpoint, an ``.onnx`` file of ``footreid export-onnx``, a model
folder of ``footreid export-model``, a hub name ("org/name") or a registry name. Crops are
PIL images, H x W x 3 uint8 arrays (RGB, or BGR with ``bgr=True`` as OpenCV and BoxMOT
hold them) or image paths. They are embedded exactly as ``footreid embed`` embeds a split:
the model's trained input size and normalisation (:mod:`footreid.embed`'s transform),
flip TTA and precision from :class:`~footreid.embed.EmbedOptions`, L2-normalised rows.
Paths go through :func:`footreid.embed.extract_features` itself; in-memory crops through
the same transform and the same forward pass (mirror views in one batch, autocast).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Union

import numpy as np
import torch
from PIL import Image

from footreid.core.errors import DataError
from footreid.core.size import ImageSize
from footreid.embed import EmbedModel, EmbedOptions, EmbedPlan, extract_features, resolve_plan
from footreid.embed import load_embed_model as _load_file_or_name
from footreid.embed.backends import Runner, embed_views
from footreid.embed.batching import eval_transform
from footreid.embed.extract import prepare_runner
from footreid.embed.registry import AUTO
from footreid.embed.sources import check_holds_its_weights, with_input_size
from footreid.export.folder import load_model_folder
from footreid.export.hub import download_model_folder, is_hub_name

Crop = Union[str, Path, Image.Image, np.ndarray]  # noqa: UP007  (a runtime alias)


def resolve_model(
    source: str | Path,
    revision: str | None = None,
    pretrained: str = "none",
    input_size: Any = None,
    options: dict[str, Any] | None = None,
) -> EmbedModel:
    """The :class:`EmbedModel` of a checkpoint, ONNX file, model folder, hub or registry name.

    The one source resolver of ``footreid embed`` and :func:`load`.

    Args:
        source: a local file or folder first; else "org/name" is a hub model and any
            other name a registry model (random weights unless it names a weights tag).
        revision: branch, tag or commit of a hub model.
        pretrained: weights of a registry model ("none", a file, a tag).
        input_size: (H, W) override (a size other than the recorded one is a warning).
        options: family options of a registry model.

    Raises:
        WeightsError, DownloadError, ConfigError: see the loader of each kind of source.
    """
    path = Path(source)
    if path.is_dir() or (not path.is_file() and is_hub_name(source)):
        check_holds_its_weights(path, pretrained, options)
        folder = path if path.is_dir() else download_model_folder(str(source), revision)
        return with_input_size(load_model_folder(folder), input_size)
    return _load_file_or_name(
        path if path.is_file() else str(source), pretrained, input_size, options
    )


def _to_image(crop: Any, bgr: bool, index: int) -> Image.Image:
    """One crop as an RGB PIL image (arrays checked: H x W x 3 uint8)."""
    if isinstance(crop, Image.Image):
        return crop.convert("RGB")
    if isinstance(crop, str | Path):
        from footreid.data.images import load_image

        return load_image(crop)
    if isinstance(crop, np.ndarray):
        if crop.dtype != np.uint8 or crop.ndim != 3 or crop.shape[2] != 3 or 0 in crop.shape:
            raise DataError(
                None,
                f"crops[{index}]: expected an H x W x 3 uint8 array, got shape "
                f"{crop.shape} {crop.dtype}; convert with array.astype(np.uint8) (0..255)",
            )
        return Image.fromarray(np.ascontiguousarray(crop[..., ::-1] if bgr else crop), "RGB")
    raise DataError(
        None,
        f"crops[{index}]: a {type(crop).__name__}; give PIL images, H x W x 3 uint8 "
        "arrays or image paths",
    )


def _as_list(crops: Crop | Sequence[Crop]) -> list[Any]:
    """A sequence of crops from one crop, a list, or an (N, H, W, 3) array."""
    if isinstance(crops, str | Path | Image.Image):
        return [crops]
    if isinstance(crops, np.ndarray):
        return list(crops) if crops.ndim == 4 else [crops]
    return list(crops)


@dataclass
class Encoder:
    """A loaded model that embeds crops; what :func:`load` returns.

    Attributes:
        model: the model, its input size and normalisation.
        options: flip TTA, batch size, device and precision (as ``footreid embed``).
        plan: device, precision and backend resolved from ``options`` (None: here).
    """

    model: EmbedModel
    options: EmbedOptions = field(default_factory=EmbedOptions)
    plan: EmbedPlan | None = None

    def __post_init__(self) -> None:
        if self.plan is None:
            self.plan = resolve_plan(self.model, self.options)
        self.device, self.precision = self.plan.device, self.plan.precision
        self._transform = eval_transform(self.model.input_size, self.model.mean, self.model.std)
        self._runner: Runner | None = None  # built on the first batch (auto measures on it)

    def _runner_for(self, batch: torch.Tensor | None) -> Runner:
        if self._runner is None:
            self._runner = prepare_runner(self.model, self._plan, batch)
        return self._runner

    @property
    def _plan(self) -> EmbedPlan:
        assert self.plan is not None  # set by __post_init__
        return self.plan

    @property
    def name(self) -> str:
        """Registered architecture name."""
        return self.model.name

    @property
    def input_size(self) -> ImageSize:
        """(H, W) every crop is resized to."""
        return self.model.input_size

    @property
    def backend(self) -> str:
        """What runs the model: the backend asked for, or ``auto``'s choice once it has
        embedded its first batch."""
        return self._runner.name if self._runner is not None else self._plan.backend

    @property
    def embed_dim(self) -> int:
        """D, the width of the embeddings."""
        return int(self.model.model.spec.embed_dim)

    def embed(self, crops: Crop | Sequence[Crop], bgr: bool = False) -> np.ndarray:
        """Embed crops, in batches of ``options.batch_size``.

        Args:
            crops: one crop or a sequence of them: PIL images, H x W x 3 uint8 arrays, or
                image paths; an (N, H, W, 3) uint8 array is N crops of one size.
            bgr: arrays are in BGR channel order (OpenCV, BoxMOT); PIL images and files
                are always read as RGB.

        Returns:
            (N, D) float32, rows L2-normalised (cosine distance = 1 - dot product), in
            the order of ``crops``; (0, D) for no crops.

        Raises:
            DataError: an unreadable file or an array that is not H x W x 3 uint8.
        """
        items = _as_list(crops)
        if items and all(isinstance(c, str | Path) for c in items):
            if self._runner is None and self._plan.backend != AUTO:
                self._runner_for(None)
            return extract_features(
                self.model, items, self.options, runner=self._runner, plan=self._plan
            )
        out = np.empty((len(items), self.embed_dim), dtype=np.float32)
        step = self.options.batch_size
        for start in range(0, len(items), step):
            chunk = items[start : start + step]
            images = [_to_image(c, bgr, start + i) for i, c in enumerate(chunk)]
            batch = torch.stack([self._transform(im) for im in images])
            runner = self._runner_for(batch)
            out[start : start + len(chunk)] = embed_views(runner, batch, self._plan.flip_tta)
        return out


def load(
    source: str | Path,
    *,
    device: str = "auto",
    precision: str = "auto",
    flip_tta: bool = True,
    batch_size: int = 64,
    num_workers: int = 0,
    revision: str | None = None,
    backend: str = "torch",
    pretrained: str = "none",
    input_size: Any = None,
    options: dict[str, Any] | None = None,
) -> Encoder:
    """Load a trained model to embed crops: ``footreid.load(source).embed(crops)``.

    Args:
        source: a training checkpoint (``best.pt``), an ``.onnx`` file, a model folder,
            a hub name ("org/name", through ``huggingface_hub``) or a registry name.
        device: "auto" (CUDA when available), "cpu", "cuda", "cuda:1", ...
        precision: "auto" (bf16 where the device computes it natively, else fp32),
            "fp32", "bf16" or "fp16" (CUDA); ONNX files always run fp32.
        flip_tta: average each crop's embedding with its mirror's (footreid's default;
            False computes what torchreid and BoxMOT compute, at half the cost).
        batch_size: crops per forward pass.
        num_workers: decoding processes for lists of paths (0: in this process).
        revision: branch, tag or commit of a hub model.
        backend: what runs the model, as ``footreid embed --backend``: "torch", "onnx",
            "openvino", "openvino-int8" or "auto" (the fastest that agrees with torch,
            measured on the first batch).
        pretrained, input_size, options: as ``footreid embed --pretrained``,
            ``--input-size`` and ``--option`` (see :func:`resolve_model`).

    Returns:
        An :class:`Encoder`; its plan (device, precision, backend) is resolved here.
    """
    model = resolve_model(source, revision, pretrained, input_size, options)
    settings = EmbedOptions(
        flip_tta=flip_tta,
        batch_size=batch_size,
        num_workers=num_workers,
        device=device,
        precision=precision,
        backend=backend,
    )
    return Encoder(model, settings, resolve_plan(model, settings))
