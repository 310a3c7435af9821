"""Model folders on the Hugging Face hub: ``footreid.load("org/name")`` and ``push-model``.

Both go through ``huggingface_hub`` (extra ``hub``). A hub name is fetched from the local
cache first, so a model downloaded once loads offline; otherwise a 3-second TCP check of
the hub host fails fast with what to do, instead of the client's retries and timeouts.
``HF_HUB_OFFLINE=1`` reads the cache only; ``HF_ENDPOINT`` names another hub host.
"""

from __future__ import annotations

import os
import re
import socket
from pathlib import Path

from footreid.core.errors import DownloadError, MissingDependencyError, WeightsError
from footreid.core.log import get_logger
from footreid.data.download import hub_host
from footreid.export.folder import FOLDER_FILES, read_folder_config

log = get_logger(__name__)

REPO_ID = re.compile(r"^[A-Za-z0-9][\w.-]*/[\w.-]+$")
FILE_SUFFIXES = (".pt", ".pth", ".tar", ".onnx", ".safetensors", ".json", ".yaml")


def is_hub_name(source: str | Path) -> bool:
    """Whether ``source`` reads as a hub repository id ("org/name") and not a local path."""
    text = str(source)
    if Path(text).exists() or text.lower().endswith(FILE_SUFFIXES):
        return False
    return bool(REPO_ID.match(text))


def _offline() -> bool:
    return os.environ.get("HF_HUB_OFFLINE", "").strip().lower() in {"1", "true", "yes", "on"}


def check_hub_reachable(what: str, timeout: float = 3.0) -> None:
    """Open (and close) a TCP connection to the hub host within ``timeout`` seconds.

    Raises:
        DownloadError: the name does not resolve or the connection fails, naming
            ``what`` was being done and the offline way to do it.
    """
    host = hub_host()
    try:
        with socket.create_connection((host, 443), timeout=timeout):
            pass
    except OSError as exc:
        raise DownloadError(
            f"cannot reach {host}:443 ({exc.strerror or exc}) to {what}; the Hugging Face "
            "hub needs internet: on a machine that has it run `huggingface-cli download "
            "ORG/NAME --local-dir DIR`, copy DIR here and use footreid.load(DIR)"
        ) from None


def _hub() -> object:
    try:
        import huggingface_hub
    except ImportError:
        raise MissingDependencyError("huggingface_hub", "hub") from None
    return huggingface_hub


def download_model_folder(repo_id: str, revision: str | None = None) -> Path:
    """The local folder of hub model ``repo_id`` (cached, else downloaded).

    Args:
        repo_id: "org/name" of a model repository holding a footreid model folder.
        revision: a branch, tag or commit (default: the main branch).

    Raises:
        DownloadError: offline and not cached, or the hub refused the request.
        WeightsError: the repository is not a footreid model folder.
    """
    hub = _hub()
    fetch = dict(repo_id=repo_id, revision=revision, allow_patterns=list(FOLDER_FILES))
    try:
        folder = Path(hub.snapshot_download(**fetch, local_files_only=True))
        log.info("%s: from the local hub cache %s", repo_id, folder)
    except Exception:  # not cached: LocalEntryNotFoundError and friends
        if _offline():
            raise DownloadError(
                f"HF_HUB_OFFLINE is set and {repo_id} is not in the local hub cache; unset "
                "it, or load a local model folder"
            ) from None
        check_hub_reachable(f"download the model {repo_id}")
        try:
            folder = Path(hub.snapshot_download(**fetch))
        except Exception as exc:  # the hub client's HTTP, auth and not-found errors
            raise DownloadError(
                f"{repo_id}: the hub refused the download ({type(exc).__name__}: "
                f"{str(exc).splitlines()[0][:200]}); check the name and, for a private "
                "model, `huggingface-cli login`"
            ) from None
    read_folder_config(folder)
    return folder


def push_model_folder(
    folder: str | Path,
    repo_id: str,
    private: bool = False,
    token: str | None = None,
    message: str = "footreid model folder",
) -> str:
    """Upload a model folder (its three files) to hub repository ``repo_id``.

    Args:
        folder: written by ``footreid export-model``.
        repo_id: "org/name"; the model repository is created when absent.
        private: create it private.
        token: a hub token (default: the one ``huggingface-cli login`` stored).
        message: the commit message.

    Returns:
        The URL of the commit.

    Raises:
        WeightsError: not a complete model folder. DownloadError: offline, or the hub
            refused (no token, no write access).
    """
    folder = Path(folder)
    read_folder_config(folder)
    missing = [name for name in FOLDER_FILES if not (folder / name).is_file()]
    if missing:
        raise WeightsError(f"{folder}: {', '.join(missing)} missing; export the folder again")
    if not REPO_ID.match(repo_id):
        raise WeightsError(f"'{repo_id}' is not a hub repository name: expected ORG/NAME")
    hub = _hub()
    if _offline():
        raise DownloadError("HF_HUB_OFFLINE is set: unset it to push a model")
    check_hub_reachable(f"push {folder} to {repo_id}")
    api = hub.HfApi(token=token)
    try:
        api.create_repo(repo_id, private=private, exist_ok=True, repo_type="model")
        info = api.upload_folder(
            repo_id=repo_id,
            folder_path=str(folder),
            allow_patterns=list(FOLDER_FILES),
            commit_message=message,
        )
    except Exception as exc:  # HTTP, auth and validation errors of the hub client
        raise DownloadError(
            f"{repo_id}: the hub refused the upload ({type(exc).__name__}: "
            f"{str(exc).splitlines()[0][:200]}); `huggingface-cli login` with a write token"
        ) from None
    return str(getattr(info, "commit_url", info))
