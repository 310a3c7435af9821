"""Pretrained weights: resolve a ``pretrained`` value to a file (path, cache or download).

``pretrained`` is ``"none"``, ``"imagenet"``/``"default"`` (the model's default weights),
a tag of the model's published weights, or a file path. Resolution order: explicit path
-> local cache (``$FOOTREID_HOME/weights``, default ``~/.cache/footreid/weights``) ->
download from the official source (Hugging Face hub for timm models, torchvision's and
torchreid's published URLs) -> a :class:`WeightsError` that says which file to place
where. Never a silent fallback to random weights: loading with ``strict=False`` leaves any
layer whose keys do not match at its random initialisation without a word, so every key
must match here, except the named head keys a family declares
(:mod:`footreid.models.state_dict` reads and loads the file).
"""

from __future__ import annotations

import os
import socket
import urllib.parse
import urllib.request
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from footreid.core.errors import WeightsError
from footreid.core.io import atomic_path, sha256_file
from footreid.core.log import get_logger

log = get_logger(__name__)

NONE = "none"
DEFAULT_ALIASES = ("imagenet", "default")
FILE_SUFFIXES = (".pth", ".pt", ".pyth", ".bin", ".safetensors", ".tar", ".ckpt")


def download_timeout() -> float:
    """Seconds before a download attempt gives up (``$FOOTREID_DOWNLOAD_TIMEOUT``, 15)."""
    return float(os.environ.get("FOOTREID_DOWNLOAD_TIMEOUT", "15"))


def footreid_home() -> Path:
    """``$FOOTREID_HOME`` or ``~/.cache/footreid``."""
    return Path(os.environ.get("FOOTREID_HOME", Path.home() / ".cache" / "footreid")).expanduser()


def weights_dir() -> Path:
    """Folder of cached pretrained weights (``<footreid_home>/weights``)."""
    return footreid_home() / "weights"


@dataclass(frozen=True)
class WeightSource:
    """One published weights file of a model.

    Attributes:
        tag: name users pass as ``pretrained`` (``imagenet``, ``lvd142m``, ``openai``).
        cache_name: path of the file relative to :func:`weights_dir`.
        url: direct download URL, or None.
        hf_hub_id: Hugging Face repository holding ``hf_filename``, or None.
        hf_filename: file name inside the hub repository.
        description: what the weights are, for messages.
        sha256: hex SHA-256 of the published file, checked after download and on the
            cached copy; None where the publisher gives none.
    """

    tag: str
    cache_name: str
    url: str | None = None
    hf_hub_id: str | None = None
    hf_filename: str = "model.safetensors"
    description: str = ""
    sha256: str | None = None

    @property
    def origin(self) -> str:
        """Where the file is downloaded from, for messages."""
        if self.hf_hub_id:
            return f"https://huggingface.co/{self.hf_hub_id} ({self.hf_filename})"
        return self.url or "nowhere (no public source)"


def is_file_reference(pretrained: str) -> bool:
    """True when ``pretrained`` names a file rather than a tag."""
    return (
        "/" in pretrained
        or os.sep in pretrained
        or pretrained.lower().endswith(FILE_SUFFIXES)
        or Path(pretrained).expanduser().is_file()
    )


def offline() -> bool:
    """True when ``$FOOTREID_OFFLINE`` or ``$HF_HUB_OFFLINE`` forbids network access."""
    flags = (os.environ.get("FOOTREID_OFFLINE", ""), os.environ.get("HF_HUB_OFFLINE", ""))
    return any(flag.lower() in ("1", "true", "yes", "on") for flag in flags)


def resolve_weights(
    model_name: str,
    pretrained: str,
    sources: Mapping[str, WeightSource],
    default_tag: str | None,
) -> Path:
    """Find (or fetch) the weights file that ``pretrained`` names for ``model_name``.

    Args:
        model_name: registered model name, for messages.
        pretrained: a file path, ``imagenet``/``default`` or a tag in ``sources``.
        sources: the model's published weights by tag.
        default_tag: tag that ``imagenet``/``default`` mean, None if the model has none.

    Returns:
        Path of an existing weights file.
    """
    if pretrained == NONE:
        raise ValueError("resolve_weights called with pretrained='none'")
    if is_file_reference(pretrained):
        path = Path(pretrained).expanduser()
        if not path.is_file():
            raise WeightsError(
                f"pretrained weights file {path} does not exist; pass an existing file, "
                f"a tag ({', '.join(sources) or 'none published'}) or 'none'"
            )
        return path
    source = _source_for(model_name, pretrained, sources, default_tag)
    cached = weights_dir() / source.cache_name
    if cached.is_file():
        log.info("using cached weights %s", cached)
        _check_sha256(cached, source, "cached")
        return cached
    if offline():
        reason = "offline mode is on (FOOTREID_OFFLINE or HF_HUB_OFFLINE is set)"
    else:
        try:
            return _fetch(source, cached)
        except Exception as exc:  # any network or hub failure becomes one clear message
            reason = f"download failed: {type(exc).__name__}: {str(exc).splitlines()[0][:200]}"
    raise WeightsError(
        f"pretrained weights '{source.tag}' of model '{model_name}' ({source.description}) "
        f"are not in the cache and could not be downloaded: {reason}. Fix: fetch "
        f"{source.origin} on a connected machine and place the file at {cached} "
        f"(or pass --pretrained /path/to/file); --pretrained none trains from scratch"
    )


def _source_for(
    model_name: str, pretrained: str, sources: Mapping[str, WeightSource], default_tag: str | None
) -> WeightSource:
    tag = default_tag if pretrained in DEFAULT_ALIASES else pretrained
    if tag is None:
        raise WeightsError(
            f"model '{model_name}' has no published pretrained weights; use --pretrained none "
            "or pass a weights file"
        )
    if tag not in sources:
        known = ", ".join(sorted({*sources, *DEFAULT_ALIASES})) if sources else "none"
        raise WeightsError(
            f"unknown pretrained tag '{pretrained}' for model '{model_name}' (known: {known}); "
            "pass a known tag, a weights file path or 'none'"
        )
    return sources[tag]


def _fetch(source: WeightSource, dest: Path) -> Path:
    """Download ``source`` to ``dest`` and check it is a weights file, not an HTML page."""
    log.info("downloading %s to %s", source.origin, dest)
    path = _download(source, dest, download_timeout())
    with open(path, "rb") as handle:
        head = handle.read(16)
    if source.sha256 is None and head.lstrip().startswith(b"<"):
        path.unlink()
        raise WeightsError(f"{source.origin} returned an HTML page instead of weights")
    try:
        _check_sha256(path, source, "downloaded")
    except WeightsError:
        path.unlink()
        raise
    return path


def _check_sha256(path: Path, source: WeightSource, what: str) -> None:
    """Raise WeightsError when ``path`` is not the published file ``source`` names."""
    if source.sha256 is None:
        return
    digest = sha256_file(path)
    if digest != source.sha256:
        raise WeightsError(
            f"{what} file {path} has SHA-256 {digest}, but {source.origin} publishes "
            f"{source.sha256}; delete {path} and fetch the file again"
        )


def _download(source: WeightSource, dest: Path, timeout: float) -> Path:
    """Network access (the one function tests replace): fetch ``source`` into ``dest``."""
    _check_reachable("huggingface.co" if source.hf_hub_id else source.url or "", timeout)
    if source.hf_hub_id:
        from huggingface_hub import hf_hub_download

        got = hf_hub_download(
            source.hf_hub_id, source.hf_filename, local_dir=dest.parent, etag_timeout=timeout
        )
        return Path(got)
    if not source.url:
        raise WeightsError(f"weights '{source.tag}' have no download source")
    request = urllib.request.Request(source.url, headers={"User-Agent": "footreid"})
    with (
        urllib.request.urlopen(request, timeout=timeout) as response,
        atomic_path(dest) as tmp,
        open(tmp, "wb") as handle,
    ):
        while chunk := response.read(1 << 20):
            handle.write(chunk)
    return dest


def _check_reachable(url_or_host: str, timeout: float) -> None:
    """Fail within ``timeout`` when the host cannot be reached (no DNS, no route).

    The hub client retries a failed connection for about 25 s; one direct TCP probe
    first makes the offline failure quick. Skipped behind a proxy, which may reach it.
    """
    if any(os.environ.get(v) for v in ("HTTPS_PROXY", "https_proxy", "ALL_PROXY", "all_proxy")):
        return
    parsed = urllib.parse.urlsplit(url_or_host if "//" in url_or_host else f"//{url_or_host}")
    if not parsed.hostname:
        return
    with socket.create_connection((parsed.hostname, parsed.port or 443), timeout=timeout):
        pass
