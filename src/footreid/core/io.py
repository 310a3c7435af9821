"""Atomic writes, file hashes and JSON lines (the file names themselves: :mod:`.layout`).

Every output file is written to a temporary sibling and moved into place only when
complete, so a reader sees the previous file or the new one, never a part. A temporary
is named ``.<name>.<pid>.<random><suffix>``: a writer killed outright (SIGKILL, power
cut) cannot remove its own, so the next write of the same file removes the temporaries
of writers that are no longer running. A full disk or a read-only folder raises an
:class:`~footreid.core.errors.OutputError` that names the folder to free or change.
"""

from __future__ import annotations

import contextlib
import errno
import hashlib
import json
import os
import re
import shutil
import tempfile
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import IO, Any

from footreid.core.errors import OutputError

_NO_SPACE = frozenset({errno.ENOSPC, errno.EDQUOT, errno.EFBIG})
_NOT_WRITABLE = frozenset({errno.EROFS, errno.EACCES, errno.EPERM})


@contextlib.contextmanager
def atomic_write(path: str | Path, mode: str = "wb", size: int | None = None) -> Iterator[IO[Any]]:
    """Open a temporary file beside ``path`` and move it into place only on success.

    A crash or exception mid-write leaves the previous file (if any) untouched and no
    temporary behind. ``size`` (bytes about to be written, when known) goes into the
    message of a full disk.

    Raises:
        OutputError: no space left, or the folder is not writable (the temporary is gone).
    """
    path = Path(path)
    fd, tmp = _open_temp(path, ".tmp", size)
    try:
        encoding = None if "b" in mode else "utf-8"
        with os.fdopen(fd, mode, encoding=encoding) as handle:
            yield handle
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, path)
    except BaseException as exc:
        _discard(tmp, path, exc, size)
        raise


@contextlib.contextmanager
def atomic_path(path: str | Path, size: int | None = None) -> Iterator[Path]:
    """Yield a temporary path beside ``path`` for libraries that write by file name.

    The temporary file keeps ``path``'s suffix (image writers look at it) and replaces
    ``path`` only when the block succeeds. Prefer :func:`atomic_write` where the library
    takes a file object: its disk errors then reach Python as ``OSError`` (a C++ writer
    given a file name reports a full disk as a bare ``RuntimeError``).
    """
    path = Path(path)
    fd, tmp = _open_temp(path, path.suffix, size)
    os.close(fd)
    try:
        yield Path(tmp)
        os.replace(tmp, path)
    except BaseException as exc:
        _discard(tmp, path, exc, size)
        raise


def _open_temp(path: Path, suffix: str, size: int | None) -> tuple[int, str]:
    """Create the temporary sibling of ``path`` (and its folder), sweeping dead writers'."""
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        sweep_stale_temps(path)
        prefix = f".{path.name}.{os.getpid()}."
        return tempfile.mkstemp(prefix=prefix, suffix=suffix, dir=path.parent)
    except OSError as exc:
        error = _output_error(exc, path, size, 0)
        if error is None:
            raise
        raise error from exc


def _discard(tmp: str, path: Path, exc: BaseException, size: int | None) -> None:
    """Remove the temporary; raise an OutputError when ``exc`` comes from the disk."""
    written = 0
    with contextlib.suppress(OSError):
        written = os.path.getsize(tmp)
    with contextlib.suppress(FileNotFoundError):
        os.unlink(tmp)
    error = _output_error(exc, path, size, written)
    if error is not None:
        raise error from exc


def _disk_error(exc: BaseException) -> OSError | None:
    """The full-disk or permission ``OSError`` behind ``exc`` (libraries wrap it), if any."""
    seen: set[int] = set()
    current: BaseException | None = exc
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        if isinstance(current, OutputError):
            return None  # already explained
        if isinstance(current, OSError) and current.errno in _NO_SPACE | _NOT_WRITABLE:
            return current
        current = current.__cause__ or current.__context__
    return None


def _output_error(
    exc: BaseException, path: Path, size: int | None, written: int
) -> OutputError | None:
    """The message for a disk error while writing ``path``; None for any other error."""
    cause = _disk_error(exc)
    if cause is None:
        return None
    folder = path.parent
    reason = cause.strerror or str(cause)
    if cause.errno in _NOT_WRITABLE:
        return OutputError(
            f"{path}: cannot write in {folder} ({reason}); choose another output folder "
            "or make this one writable"
        )
    need = f"writing {format_bytes(size)}" if size else "writing"
    done = f", {format_bytes(written)} written when it failed" if written else ""
    free = ""
    with contextlib.suppress(OSError):
        free = f", {format_bytes(shutil.disk_usage(folder).free)} free there now"
    return OutputError(
        f"{path}: {reason} ({need}{done}{free}); free space in {folder} or write elsewhere; "
        "the previous file, if any, is unchanged"
    )


def format_bytes(count: int) -> str:
    """``1536`` -> ``"1.5 KiB"``: a size for messages."""
    value = float(count)
    for unit in ("B", "KiB", "MiB", "GiB"):
        if value < 1024 or unit == "GiB":
            return f"{value:.0f} {unit}" if unit == "B" else f"{value:.1f} {unit}"
        value /= 1024
    return f"{value:.1f} GiB"


_TEMP_TAIL = re.compile(r"(\d+)\.[a-z0-9_]{8}(\.[^.]*)?")


def sweep_stale_temps(path: str | Path) -> int:
    """Remove temporaries of ``path`` whose writer process is gone; returns how many.

    Only names this module creates (``.<name>.<pid>.<8 random chars><suffix>``) whose pid
    is not a running process on this machine are touched.
    """
    path = Path(path)
    prefix = f".{path.name}."
    try:
        names = [n for n in os.listdir(path.parent) if n.startswith(prefix)]
    except OSError:
        return 0
    removed = 0
    for name in names:
        match = _TEMP_TAIL.fullmatch(name[len(prefix) :])
        if match is None or match.group(2) not in (".tmp", path.suffix or None):
            continue
        if not _process_alive(int(match.group(1))):
            with contextlib.suppress(FileNotFoundError):
                os.unlink(path.parent / name)
                removed += 1
    return removed


def _process_alive(pid: int) -> bool:
    if pid == os.getpid():
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except (PermissionError, OverflowError):
        return True  # someone else's process, or not a pid we can judge
    return True


def check_writable(folder: str | Path) -> Path:
    """Fail before any work starts when files cannot be created in ``folder``.

    A folder that does not exist yet is judged by its nearest existing parent, and
    nothing is left behind (the probe file is removed, no folder is created).

    Raises:
        OutputError: the folder (or the parent it would be made in) is read-only, not
            writable, or not a folder.
    """
    folder = Path(folder)
    probe_in = folder
    while not probe_in.exists() and probe_in != probe_in.parent:
        probe_in = probe_in.parent
    try:
        if not probe_in.is_dir():
            raise NotADirectoryError(errno.ENOTDIR, f"{probe_in} is not a folder")
        fd, probe = tempfile.mkstemp(prefix=".footreid-write-check.", dir=probe_in)
        os.close(fd)
        os.unlink(probe)
    except OSError as exc:
        raise OutputError(
            f"{folder}: cannot write output here ({exc.strerror or exc}); choose another "
            "output folder or make this one writable"
        ) from None
    return folder


def atomic_write_many(files: Mapping[Path, bytes]) -> None:
    """Write several files that belong together (a model folder, a report) atomically.

    Every file is written and synced to its temporary first; only then are they moved
    into place, one after the other. A crash or full disk while writing leaves every
    previous file as it was, so a folder never mixes old and new files.
    """
    with contextlib.ExitStack() as stack:
        for path, data in files.items():
            handle = stack.enter_context(atomic_write(path, "wb", size=len(data)))
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())


def atomic_write_text(path: str | Path, text: str) -> None:
    """Write ``text`` (UTF-8) to ``path`` atomically."""
    data = text.encode("utf-8")
    with atomic_write(path, "wb", size=len(data)) as handle:
        handle.write(data)


def atomic_write_json(path: str | Path, obj: Any, indent: int | None = 2) -> None:
    """Write ``obj`` as JSON to ``path`` atomically."""
    atomic_write_text(path, json.dumps(obj, indent=indent) + "\n")


def sha256_file(path: str | Path, chunk_bytes: int = 1 << 20) -> str:
    """Hex SHA-256 of a file's bytes."""
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        while chunk := handle.read(chunk_bytes):
            digest.update(chunk)
    return digest.hexdigest()


def append_jsonl(path: str | Path, record: dict[str, Any]) -> None:
    """Append one JSON line; a line is small enough to be written in one call."""
    path = Path(path)
    line = json.dumps(record) + "\n"
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        with open(path, "a", encoding="utf-8") as handle:
            handle.write(line)
    except OSError as exc:
        error = _output_error(exc, path, len(line), 0)
        if error is None:
            raise
        raise error from exc
