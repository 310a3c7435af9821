"""Upload search: embed a user's player crop and find the closest crops of the whole gallery.

The crop is embedded exactly like the run's features were: the model of a training
checkpoint at the input size it was trained at, the evaluation transform of
``footreid.embed`` (resize, normalise with the model's mean/std), flip TTA when the
features file used it, its precision (resolved by ``footreid.core.hardware`` for the
CPU the demo runs on), L2-normalisation. Search is inner product on unit vectors
(cosine similarity, higher is closer) with a FAISS ``IndexFlatIP`` when faiss is
installed, else the same exact search in numpy.
"""

from __future__ import annotations

import io
import struct
import threading
import time
from concurrent.futures import Future
from dataclasses import dataclass
from typing import Any

import numpy as np
from PIL import Image, UnidentifiedImageError

from footreid.core.errors import ConfigError, FootreidError
from footreid.core.log import get_logger
from footreid.core.records import FeatureSet
from footreid.serve.batching import BatcherBusy, EmbedBatcher

log = get_logger(__name__)

MAX_UPLOAD_BYTES = 10 * 1024 * 1024
MAX_UPLOAD_PIXELS = 40_000_000
ALLOWED_FORMATS = {
    "PNG": "image/png",
    "JPEG": "image/jpeg",
    "WEBP": "image/webp",
    "BMP": "image/bmp",
}


# what PIL's decoders raise on a malformed or truncated file, besides its bomb error
UNREADABLE = (UnidentifiedImageError, OSError, ValueError, SyntaxError, EOFError, struct.error)


class UploadError(FootreidError):
    """A rejected upload; ``status`` is the HTTP status to answer with (4xx or 503).

    ``retry_after`` (seconds) is set where trying again later can succeed (busy).
    """

    def __init__(self, status: int, message: str, retry_after: int | None = None) -> None:
        super().__init__(message)
        self.status = status
        self.retry_after = retry_after


def decode_upload(data: bytes, content_type: str | None) -> Image.Image:
    """Check and decode an uploaded crop.

    Args:
        data: the file's bytes.
        content_type: the MIME type the browser declared (None if absent).

    Returns:
        The image in RGB.

    Raises:
        UploadError: 400 empty or unreadable, 413 over 10 MB or 40 Mpx, 415 not an image
            type footreid reads (PNG, JPEG, WebP, BMP).
    """
    if not data:
        raise UploadError(400, "the uploaded file is empty: choose a PNG or JPEG crop")
    if len(data) > MAX_UPLOAD_BYTES:
        raise UploadError(413, f"the file is {len(data) / 2**20:.1f} MB; the limit is 10 MB")
    declared = (content_type or "").split(";")[0].strip().lower()
    if declared and declared != "application/octet-stream" and not declared.startswith("image/"):
        raise UploadError(415, f"the file was sent as '{declared}', not an image: upload a crop")
    try:
        with Image.open(io.BytesIO(data)) as probe:
            fmt, size = probe.format, probe.size
            if fmt not in ALLOWED_FORMATS:
                raise UploadError(415, f"{fmt} images are not accepted: use PNG, JPEG, WebP or BMP")
            if size[0] * size[1] > MAX_UPLOAD_PIXELS:
                raise UploadError(413, f"the image is {size[0]}x{size[1]} pixels: too large")
            image = probe.convert("RGB")
    except UploadError:
        raise
    except Image.DecompressionBombError:  # PIL's own cap, far above ours, hit on opening
        raise UploadError(413, "the image declares far too many pixels: too large") from None
    except UNREADABLE as exc:
        raise UploadError(400, f"the file is not a readable image ({type(exc).__name__})") from None
    if min(image.size) < 2:
        raise UploadError(400, f"the image is {image.width}x{image.height} pixels: too small")
    return image


@dataclass
class _Searcher:
    """One model's embedder (a batching thread) and gallery index."""

    transform: Any  # footreid.data.transforms.TestTransform
    batcher: EmbedBatcher
    gallery_rows: np.ndarray
    index: Any  # faiss.IndexFlatIP or the (G, D) float32 unit-row matrix
    backend: str


def build_index(vectors: np.ndarray) -> tuple[Any, str]:
    """Exact inner-product index of (G, D) float32 unit rows: FAISS if importable, else numpy."""
    vectors = np.ascontiguousarray(vectors, dtype=np.float32)
    try:
        import faiss
    except ImportError:
        return vectors, "numpy"
    index = faiss.IndexFlatIP(vectors.shape[1])
    index.add(vectors)
    return index, "faiss"


def search_index(
    index: Any, backend: str, query: np.ndarray, k: int
) -> tuple[np.ndarray, np.ndarray]:
    """Top-k of one (D,) unit query: ((k,) int64 positions, (k,) float32 cosine similarity)."""
    q = np.ascontiguousarray(query.reshape(1, -1), dtype=np.float32)
    if backend == "faiss":
        scores, positions = index.search(q, k)
        return positions[0].astype(np.int64), scores[0]
    sims = (index @ q[0]).astype(np.float32)
    top = np.argpartition(-sims, k - 1)[:k] if k < len(sims) else np.arange(len(sims))
    top = top[np.lexsort((top, -sims[top]))]
    return top.astype(np.int64), sims[top]


class UploadSearch:
    """Embeds uploads with a model of the run and searches its gallery features.

    Args:
        checkpoints: model name -> training checkpoint (None where the run has none).
        features: model name -> the run's features file.
    """

    def __init__(self, checkpoints: dict[str, Any], features: dict[str, FeatureSet]) -> None:
        self.checkpoints = {n: p for n, p in checkpoints.items() if p is not None}
        self.features = features
        self._searchers: dict[str, _Searcher] = {}
        self._load_lock = threading.Lock()

    def models(self) -> list[dict[str, Any]]:
        """Every model with whether uploads can use it and why not."""
        out = []
        for name in self.features:
            path = self.checkpoints.get(name)
            reason = None
            if path is None:
                reason = "results.json names no checkpoint for this model"
            elif not path.is_file():  # the file's name only: no local path leaves the server
                reason = f"checkpoint {path.name} is missing"
            out.append({"name": name, "upload": reason is None, "reason": reason})
        return out

    def default_model(self) -> str | None:
        """First model whose checkpoint file exists, or None."""
        return next((m["name"] for m in self.models() if m["upload"]), None)

    def warm(self) -> None:
        """Load the default model now (conversion and compilation happen at start-up,
        not while the first uploads wait); a model that cannot load is logged."""
        name = self.default_model()
        if name is None:
            return
        try:
            self._searcher(name)
        except UploadError as exc:
            log.warning("demo: %s", exc)

    def _searcher(self, name: str | None) -> _Searcher:
        name = name or self.default_model()
        status = {m["name"]: m for m in self.models()}
        if name is None:
            reasons = "; ".join(f"{m['name']}: {m['reason']}" for m in status.values())
            raise UploadError(
                503, f"upload search is unavailable: no loadable checkpoint ({reasons})"
            )
        if name not in status:
            raise UploadError(404, f"unknown model '{name}' (known: {', '.join(status)})")
        if not status[name]["upload"]:
            raise UploadError(
                503, f"upload search with {name} is unavailable: {status[name]['reason']}"
            )
        with self._load_lock:
            if name not in self._searchers:
                self._searchers[name] = self._load(name)
            return self._searchers[name]

    def _load(self, name: str) -> _Searcher:
        from footreid.embed import load_embed_model
        from footreid.embed.batching import eval_transform

        feats = self.features[name]
        try:
            embed_model = load_embed_model(self.checkpoints[name])
            runner = _runner(embed_model, feats.meta)
        except (FootreidError, OSError, RuntimeError) as exc:
            log.warning("demo: cannot load %s for uploads: %s", name, exc)
            path = self.checkpoints[name]  # clients see its name, never the local path
            reason = str(exc).replace(str(path), path.name)
            raise UploadError(503, f"upload search with {name} is unavailable: {reason}") from None
        recorded = feats.meta.get("input_size")
        if recorded and tuple(recorded) != tuple(embed_model.input_size):
            log.warning(
                "%s: features at %s, checkpoint at %s", name, recorded, embed_model.input_size
            )
        rows = np.flatnonzero(feats.role == "gallery")
        vectors = feats.features[rows]
        vectors = vectors / np.maximum(np.linalg.norm(vectors, axis=1, keepdims=True), 1e-12)
        index, backend = build_index(vectors)
        log.info(
            "demo: upload search with %s (%d gallery crops, %s; embedding on %s %s)",
            name,
            len(rows),
            backend,
            runner.name,
            runner.precision,
        )
        batcher = EmbedBatcher(
            runner, embed_model.mean, embed_model.std, bool(feats.meta.get("flip_tta", False))
        )
        return _Searcher(
            transform=eval_transform(embed_model.input_size, embed_model.mean, embed_model.std),
            batcher=batcher,
            gallery_rows=rows,
            index=index,
            backend=backend,
        )

    def prepare(self, image: Image.Image, model: str | None) -> tuple[str, _Searcher, Any]:
        """The model's name, its searcher and the crop's (3, H, W) uint8 pixels (blocking)."""
        name = model or self.default_model()
        searcher = self._searcher(name)
        assert name is not None  # _searcher raised otherwise
        return name, searcher, searcher.transform.pixels(image)

    def submit(self, searcher: _Searcher, pixels: Any) -> Future:
        """Queue the crop for the next batch; the future gives its (D,) unit embedding.

        Raises:
            UploadError: 503 when too many uploads already wait to be embedded.
        """
        try:
            return searcher.batcher.submit(pixels)
        except BatcherBusy as exc:
            raise UploadError(
                503, f"the demo is busy ({exc}); try again in a moment", retry_after=1
            ) from None

    def embed(self, searcher: _Searcher, image: Image.Image) -> np.ndarray:
        """(D,) float32 unit embedding of one RGB image (blocks until its batch ran)."""
        return self.submit(searcher, searcher.transform.pixels(image)).result()

    def rank(self, name: str, searcher: _Searcher, query: np.ndarray, k: int) -> dict[str, Any]:
        """The ``k`` gallery crops closest to the (D,) unit ``query``: rows and cosines."""
        k = max(1, min(int(k), len(searcher.gallery_rows)))
        positions, scores = search_index(searcher.index, searcher.backend, query, k)
        rows = searcher.gallery_rows[positions]
        return {
            "model": name,
            "backend": searcher.backend,
            "bbox_idx": self.features[name].bbox_idx[rows].tolist(),
            "scores": [float(s) for s in scores],
        }

    def search(self, image: Image.Image, model: str | None, k: int) -> dict[str, Any]:
        """The ``k`` gallery crops closest to ``image`` (blocking; the app awaits instead)."""
        start = time.perf_counter()
        name, searcher, pixels = self.prepare(image, model)
        query = self.submit(searcher, pixels).result()
        found = self.rank(name, searcher, query, k)
        found["elapsed_ms"] = round(1000 * (time.perf_counter() - start), 1)
        return found


def _runner(embed_model: Any, meta: dict[str, Any]) -> Any:
    """The fastest backend installed here that reproduces the features' precision.

    The registry's backends fastest first on the CPU (:func:`footreid.embed.registry.
    candidates`: OpenVINO, then ONNX Runtime, then PyTorch), at the precision the features
    file records: an fp32 OpenVINO or ONNX Runtime graph gives PyTorch's fp32 embedding
    within a cosine of 0.9999 (the parity tests) at ~3x its speed on one core, and bf16
    runs on OpenVINO's bf16 where the CPU has it. A backend that would run at another
    precision, or that needs calibration crops (not in the run), is passed over: INT8
    features are matched by fp32. The last candidate (PyTorch) raises what it raises.
    """
    from footreid.core.errors import MissingDependencyError
    from footreid.embed.plan import EmbedOptions, resolve_plan
    from footreid.embed.registry import build_runner, candidates, get_backend

    recorded = str(meta.get("precision", "fp32"))
    precision = "fp32" if recorded in ("int8", "fp16") else recorded
    names = [n for n in candidates(embed_model.backend, "cpu") if not get_backend(n).calibrates]
    for backend in names:
        last = backend == names[-1]
        try:
            options = EmbedOptions(device="cpu", precision=precision, backend=backend)
            plan = resolve_plan(embed_model, options)
            if plan.precision != precision and not last:
                continue  # ONNX Runtime runs fp32 only
            return build_runner(embed_model, plan)
        except (MissingDependencyError, ConfigError) as exc:
            if last:
                raise
            log.info("demo: uploads not on %s (%s)", backend, exc)
    raise ConfigError(f"no backend runs {embed_model.name} on the CPU")
