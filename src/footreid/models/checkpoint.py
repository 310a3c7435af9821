"""The one reader of training checkpoints, for loading a model and for resuming a run.

``footreid.models.load_trained`` (embed, export, the API) and ``footreid train --resume``
read a checkpoint through :func:`read_checkpoint`, so both refuse the same files with the
same messages: a missing or unreadable file, one that is not a dict, another format or
version, missing contract entries (:data:`~footreid.core.layout.CHECKPOINT_KEYS`), or
contract entries of the wrong type or value (the model record, the classifier size).
Checkpoints of earlier versions without ``format``/``version`` or ``model_spec`` load.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch

from footreid.core.errors import FootreidError, WeightsError
from footreid.core.layout import CHECKPOINT_FORMAT, CHECKPOINT_KEYS, CHECKPOINT_VERSION
from footreid.core.model_record import CHECKPOINT, ModelRecord


@dataclass(frozen=True)
class Checkpoint:
    """A checkpoint read and checked.

    Attributes:
        path: the file.
        record: its model record (name, options, trained input size, normalisation).
        num_classes: rows of the identity classifier in ``entries["model"]`` (0: none).
        entries: every entry of the file (the state dict under ``model``).
    """

    path: Path
    record: ModelRecord
    num_classes: int
    entries: dict[str, Any]


def read_checkpoint(
    path: str | Path,
    map_location: str | torch.device = "cpu",
    mmap: bool = False,
    error: type[FootreidError] = WeightsError,
) -> Checkpoint:
    """Read a training checkpoint and check its contract entries (no model is built).

    Args:
        path: a file written by ``footreid train`` (``torch.save``'d plain values).
        map_location: device the tensors are loaded to.
        mmap: memory-map the file (reading a few entries of a large file costs little).
        error: the error raised (``TrainingError`` when resuming).

    Raises:
        ``error`` (WeightsError by default), naming the file, what is wrong and the fix.
    """
    path = Path(path)
    ckpt = _load(path, map_location, mmap, error)
    fmt, version = ckpt.get("format", CHECKPOINT_FORMAT), ckpt.get("version", CHECKPOINT_VERSION)
    # compared as plain values: an edited entry may hold a tensor, whose == is elementwise
    if not _equals(fmt, CHECKPOINT_FORMAT):
        raise error(f"{path}: not a footreid training checkpoint (format {fmt!r})")
    if not _equals(version, CHECKPOINT_VERSION):
        raise error(f"{path}: checkpoint version {version!r}, need {CHECKPOINT_VERSION}")
    missing = [k for k in CHECKPOINT_KEYS if k not in ckpt]
    if missing:
        raise error(
            f"{path}: not a footreid training checkpoint (missing {', '.join(missing)}); "
            "pass a checkpoint written by footreid training, or use --pretrained for "
            "backbone weights"
        )
    if type(ckpt["num_classes"]) is not int or ckpt["num_classes"] < 0:
        raise error(
            f"{path}: num_classes {ckpt['num_classes']!r} must be a count of identities; "
            "the file was damaged or edited: use the checkpoint footreid training wrote"
        )
    try:
        record = ModelRecord.from_record(ckpt, CHECKPOINT, str(path))
    except WeightsError as exc:
        raise (exc if error is WeightsError else error(str(exc))) from None
    return Checkpoint(path, record, ckpt["num_classes"], ckpt)


def _load(
    path: Path, map_location: str | torch.device, mmap: bool, error: type[FootreidError]
) -> dict[str, Any]:
    if not path.is_file():
        raise error(f"{path}: checkpoint not found (the file does not exist)")
    try:
        ckpt = torch.load(path, map_location=map_location, weights_only=True, mmap=mmap)
    except Exception as exc:  # unpickling errors come in several types
        reason = (str(exc) or type(exc).__name__).splitlines()[0][:300]  # EOFError has no text
        raise error(
            f"{path}: cannot read the checkpoint ({reason}); "
            "checkpoints must hold only tensors and plain Python values"
        ) from None
    if not isinstance(ckpt, dict):
        raise error(
            f"{path}: not a footreid training checkpoint (a {type(ckpt).__name__}, "
            "not a dict of entries)"
        )
    return ckpt


def _equals(value: Any, expected: str | int) -> bool:
    return type(value) is type(expected) and value == expected
