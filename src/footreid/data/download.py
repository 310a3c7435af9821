"""Download the SoccerNet-v3 ReID zips with the ``SoccerNet`` package and unpack them.

``SoccerNetDownloader(LocalDirectory=<root>/soccernetv3).downloadDataTask(task="reid",
split=[...])`` writes ``<root>/soccernetv3/reid/<split>.zip`` (from the Hugging Face
dataset ``SoccerNet/SN-ReID-2023`` in SoccerNet 0.2.0); ``test_labels`` and
``challenge_labels`` fetch ``<split>_bbox_info.json`` beside them. Each zip is then
checked (CRCs, no path leaving the folder, one top-level folder named after the split)
and unpacked into a temporary folder that is moved into place only when complete.

Offline, a 3-second connection test fails first with one clear :class:`DownloadError`
instead of a wait and a traceback from deep inside the HTTP stack.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import socket
import stat
import tempfile
import zipfile
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from urllib.parse import urlparse

from footreid.core.errors import ConfigError, DownloadError, MissingDependencyError
from footreid.core.log import get_logger, track

log = get_logger(__name__)

ZIP_SPLITS: tuple[str, ...] = ("train", "valid", "test", "challenge")
LABEL_SPLITS: dict[str, str] = {
    "test_labels": "test_bbox_info.json",
    "challenge_labels": "challenge_bbox_info.json",
}
DEFAULT_HOST = "huggingface.co"
_OFFLINE_FIX = (
    "download the zips on a machine with internet, copy them to {dir}/ and run "
    "`footreid download ROOT --unzip-only --split ...`"
)


@dataclass
class DownloadResult:
    """What :func:`download` did.

    Attributes:
        reid_dir: ``<root>/soccernetv3/reid``.
        extracted: split folders unpacked by this call.
        already_present: split folders that existed and were left untouched.
        labels: ground-truth JSON files present for the requested label splits.
    """

    reid_dir: Path
    extracted: list[Path] = field(default_factory=list)
    already_present: list[Path] = field(default_factory=list)
    labels: list[Path] = field(default_factory=list)


def hub_host() -> str:
    """Host name the Hugging Face hub is reached at (``$HF_ENDPOINT`` or huggingface.co)."""
    endpoint = os.environ.get("HF_ENDPOINT")
    return (urlparse(endpoint).hostname if endpoint else None) or DEFAULT_HOST


def check_connectivity(host: str | None = None, port: int = 443, timeout: float = 3.0) -> None:
    """Open (and close) a TCP connection to the hub, failing fast when offline.

    Raises:
        DownloadError: ``HF_HUB_OFFLINE`` is set, the name does not resolve, or the
            connection fails within ``timeout`` seconds.
    """
    host = host or hub_host()
    if os.environ.get("HF_HUB_OFFLINE", "").strip().lower() in {"1", "true", "yes", "on"}:
        raise DownloadError("HF_HUB_OFFLINE is set: unset it to download SoccerNet-v3 data")
    try:
        with socket.create_connection((host, port), timeout=timeout):
            pass
    except OSError as exc:
        raise DownloadError(
            f"cannot reach {host}:{port} ({exc.strerror or exc}); SoccerNet-v3 data is "
            "downloaded from the Hugging Face hub and needs internet"
        ) from None


def _check_splits(splits: list[str]) -> None:
    known = (*ZIP_SPLITS, *LABEL_SPLITS)
    unknown = [s for s in splits if s not in known]
    if unknown or not splits:
        raise ConfigError(f"unknown or no split {unknown}; choose from {', '.join(known)}")


def fetch(root: str | Path, splits: list[str], *, check_network: bool = True) -> Path:
    """Download the requested zips / label files with the SoccerNet package.

    Args:
        root: dataset folder; files land in ``<root>/soccernetv3/reid``.
        splits: names from ``ZIP_SPLITS`` and ``LABEL_SPLITS``.
        check_network: test the connection first (3 s) for a fast, clear failure.

    Returns:
        The ``reid`` folder holding the downloaded files.

    Raises:
        MissingDependencyError: the ``SoccerNet`` package is not installed.
        DownloadError: offline, no access, or the download failed.
    """
    _check_splits(splits)
    reid_dir = Path(root).expanduser().absolute() / "soccernetv3" / "reid"
    try:
        from SoccerNet.Downloader import SoccerNetDownloader
    except ImportError:
        raise MissingDependencyError("SoccerNet", "soccernet") from None
    fix = _OFFLINE_FIX.format(dir=reid_dir)
    if check_network:
        try:
            check_connectivity()
        except DownloadError as exc:
            raise DownloadError(f"{exc}; {fix}") from None
    downloader = SoccerNetDownloader(LocalDirectory=str(reid_dir.parent))
    try:
        downloader.downloadDataTask(task="reid", split=list(splits))
    except Exception as exc:  # the hub's errors span httpx, requests and OSError types
        first_line = str(exc).strip().splitlines()[0] if str(exc).strip() else ""
        raise DownloadError(
            f"SoccerNet download of {', '.join(splits)} failed ({type(exc).__name__}: "
            f"{first_line}); {fix}"
        ) from None
    return reid_dir


def _member_problem(info: zipfile.ZipInfo, top: str) -> str | None:
    name = info.filename
    parts = PurePosixPath(name).parts
    if "\\" in name or name.startswith("/") or (parts and ":" in parts[0]):
        return "an absolute or non-POSIX path"
    if ".." in parts:
        return "a '..' component that leaves the target folder"
    if stat.S_ISLNK(info.external_attr >> 16):
        return "a symbolic link"
    if not parts or parts[0] != top:
        return f"a path outside the expected top-level folder '{top}/'"
    return None


def verify_zip(zip_path: str | Path, top: str) -> int:
    """Check a split zip without extracting it.

    Args:
        zip_path: ``<split>.zip``.
        top: the single top-level folder every member must live under (the split name).

    Returns:
        Number of members.

    Raises:
        DownloadError: not a zip, a CRC error, or an unsafe/unexpected member path.
    """
    zip_path = Path(zip_path)
    redo = f"delete {zip_path} and download it again"
    if not zipfile.is_zipfile(zip_path):
        raise DownloadError(f"{zip_path}: not a zip file (corrupt or partial download); {redo}")
    try:
        with zipfile.ZipFile(zip_path) as archive:
            infos = archive.infolist()
            for info in infos:
                problem = _member_problem(info, top)
                if problem:
                    raise DownloadError(
                        f"{zip_path}: member '{info.filename}' has {problem}; refusing to unpack"
                    )
            broken = archive.testzip()
    except (zipfile.BadZipFile, OSError, EOFError) as exc:
        raise DownloadError(f"{zip_path}: unreadable zip ({exc}); {redo}") from None
    if broken is not None:
        raise DownloadError(f"{zip_path}: member '{broken}' fails its CRC check; {redo}")
    if not infos:
        raise DownloadError(f"{zip_path}: empty zip; {redo}")
    return len(infos)


def extract_zip(zip_path: str | Path, top: str) -> Path:
    """Verify ``zip_path`` and unpack it beside itself, atomically.

    Members go to a temporary folder in the zip's folder; ``<top>/`` is moved into
    place only when everything is written, so an interruption leaves no half split.

    Returns:
        The unpacked folder ``<zip folder>/<top>``.

    Raises:
        DownloadError: the zip fails :func:`verify_zip`, the target exists, or
            writing fails.
    """
    zip_path = Path(zip_path)
    target = zip_path.parent / top
    if target.exists():
        raise DownloadError(f"{target} already exists; delete it to unpack {zip_path} again")
    count = verify_zip(zip_path, top)
    tmp = Path(tempfile.mkdtemp(prefix=f".{top}.unpack-", dir=zip_path.parent))
    try:
        with zipfile.ZipFile(zip_path) as archive:
            for info in track(archive.infolist(), f"unpacking {zip_path.name}", total=count):
                archive.extract(info, tmp)
        os.replace(tmp / top, target)
    except (OSError, zipfile.BadZipFile) as exc:
        raise DownloadError(f"{zip_path}: unpacking failed ({exc})") from None
    finally:
        with contextlib.suppress(OSError):
            shutil.rmtree(tmp)
    log.info("unpacked %s (%d entries) to %s", zip_path.name, count, target)
    return target


def download(
    root: str | Path,
    splits: list[str],
    *,
    unzip_only: bool = False,
    delete_zips: bool = False,
    check_network: bool = True,
) -> DownloadResult:
    """Fetch (unless ``unzip_only``) and unpack SoccerNet-v3 ReID splits under ``root``.

    Args:
        root: dataset folder; the data ends in ``<root>/soccernetv3/reid/<split>/``.
        splits: any of train, valid, test, challenge, test_labels, challenge_labels.
        unzip_only: skip the download and unpack zips already in place.
        delete_zips: remove each zip once it is unpacked.
        check_network: test the connection first (3 s) for a fast, clear failure.

    Returns:
        A :class:`DownloadResult`.

    Raises:
        ConfigError: unknown split name.
        DownloadError: offline, a download failure, a missing or corrupt zip.
        MissingDependencyError: the ``SoccerNet`` package is not installed.
    """
    _check_splits(splits)
    reid_dir = Path(root).expanduser().absolute() / "soccernetv3" / "reid"
    result = DownloadResult(reid_dir)
    missing = [s for s in splits if s in ZIP_SPLITS and not (reid_dir / s).is_dir()]
    result.already_present = [reid_dir / s for s in splits if s in ZIP_SPLITS and s not in missing]
    wanted = missing + [s for s in splits if s in LABEL_SPLITS]
    if wanted and not unzip_only:
        fetch(root, wanted, check_network=check_network)
    for split in missing:
        zip_path = reid_dir / f"{split}.zip"
        if not zip_path.is_file():
            raise DownloadError(f"{zip_path} not found; " + _OFFLINE_FIX.format(dir=reid_dir))
        result.extracted.append(extract_zip(zip_path, split))
        if delete_zips:
            zip_path.unlink()
    for split in (s for s in splits if s in LABEL_SPLITS):
        path = reid_dir / LABEL_SPLITS[split]
        if not path.is_file():
            raise DownloadError(f"{path} not found after downloading {split}")
        result.labels.append(path)
    return result
