"""``ModelRecord``: a model's input contract, the one way every file format records it.

Four formats carry what a consumer needs to feed a model: training checkpoints, the
metadata of exported ONNX files, model folders' ``config.json`` and features files'
``meta``. Each keeps the key names it has always had (so files of earlier versions
read as they are), and :data:`FORMATS` says which key holds which field; only
:meth:`ModelRecord.to_record` writes those keys and only :meth:`ModelRecord.from_record`
reads and checks them. Colour order and pixel scale are fixed for every model (RGB,
``uint8 / 255`` -> [0, 1], then ``(x - mean) / std``), so no format records them.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

from footreid.core.errors import ConfigError, DataError, FootreidError, WeightsError
from footreid.core.size import ImageSize

_DAMAGED = "the file was damaged or edited: write it again with footreid"

CHECKPOINT = "checkpoint"
ONNX = "onnx"
FOLDER = "folder"
FEATURES = "features"


@dataclass(frozen=True)
class RecordFormat:
    """Where one file format keeps the contract's fields.

    Attributes:
        name, options: keys of the model name and its family options (options None: the
            format does not record them).
        nested: key of a mapping holding ``mean``, ``std`` and ``embed_dim`` (a
            checkpoint's ``model_spec``), or None when they are top-level keys.
        required: keys every file of the format holds; the others may be absent in
            files of earlier versions (their fields are then None or empty).
        plain_options: options stored as JSON values (tuples become lists).
    """

    name: str
    options: str | None
    nested: str | None
    required: tuple[str, ...]
    plain_options: bool
    error: type[FootreidError] = WeightsError


FORMATS: dict[str, RecordFormat] = {
    CHECKPOINT: RecordFormat(
        "model_name", "model_kwargs", "model_spec", ("model_name", "model_kwargs", "input_size"),
        plain_options=False,
    ),
    ONNX: RecordFormat(
        "model", None, None, ("model", "input_size", "mean", "std", "embed_dim"),
        plain_options=True,
    ),
    FOLDER: RecordFormat(
        "architecture", "options", None,
        ("architecture", "options", "input_size", "mean", "std", "embed_dim"),
        plain_options=True,
    ),
    FEATURES: RecordFormat(
        "model", "model_options", None, ("model", "input_size"), plain_options=True,
        error=DataError,
    ),
}  # fmt: skip


@dataclass(frozen=True)
class ModelRecord:
    """What a consumer needs to feed a model and read its output.

    Attributes:
        name: registered model name (architecture), without a weights tag.
        input_size: (H, W) pixels crops are resized to (the trained size).
        mean, std: per-channel RGB normalisation of [0, 1] images; None when a file of
            an earlier version does not record them (the model's ModelSpec has them).
        embed_dim: D of the (N, D) embedding; None when not recorded.
        options: the family options the model is built with (``model_kwargs``).
    """

    name: str
    input_size: ImageSize
    mean: tuple[float, float, float] | None = None
    std: tuple[float, float, float] | None = None
    embed_dim: int | None = None
    options: dict[str, Any] = field(default_factory=dict)

    @classmethod
    def of(cls, model: Any, input_size: ImageSize | None = None) -> ModelRecord:
        """The record of a built model (``spec``, ``model_name``, ``model_kwargs``).

        Args:
            model: a ReidModel (or anything with its ``spec`` and names).
            input_size: the size it was trained or is embedded at; its spec's when None.
        """
        spec = model.spec
        return cls(
            name=str(getattr(model, "model_name", "") or spec.name),
            input_size=spec.input_size if input_size is None else input_size,
            mean=_floats(spec.mean),
            std=_floats(spec.std),
            embed_dim=int(spec.embed_dim),
            options=dict(getattr(model, "model_kwargs", {}) or {}),
        )

    def to_record(self, fmt: str) -> dict[str, Any]:
        """The entries ``fmt`` (:data:`FORMATS`) stores: plain values, its own key names."""
        keys = FORMATS[fmt]
        out: dict[str, Any] = {keys.name: self.name}
        if keys.options is not None:
            out[keys.options] = plain(self.options) if keys.plain_options else dict(self.options)
        out["input_size"] = self.input_size.to_list()
        norm = {
            k: v
            for k, v in (("mean", self.mean), ("std", self.std), ("embed_dim", self.embed_dim))
            if v is not None
        }
        norm = {k: list(v) if isinstance(v, tuple) else v for k, v in norm.items()}
        if keys.nested is None:
            return out | norm
        return out | {keys.nested: {"name": self.name, "input_size": out["input_size"], **norm}}

    @classmethod
    def from_record(cls, data: Any, fmt: str, where: str) -> ModelRecord:
        """Read and check the contract ``fmt`` stores in ``data`` (a file's entries).

        Args:
            data: the checkpoint dict, ONNX metadata, ``config.json`` or features meta.
            fmt: one of :data:`FORMATS`.
            where: the file, named in errors.

        Raises:
            WeightsError (DataError for features): a missing entry, or one of the wrong
                type or value; the message names ``where`` and the entry.
        """
        keys = FORMATS[fmt]
        fail = _failure(keys.error, where)
        if not isinstance(data, dict):
            raise fail(f"expected a mapping of entries, got {type(data).__name__}")
        missing = [k for k in keys.required if k not in data]
        if missing:
            raise fail(f"missing {', '.join(repr(k) for k in missing)}")
        name, options = data[keys.name], data.get(keys.options, {}) if keys.options else {}
        if not isinstance(name, str):
            raise fail(f"'{keys.name}' {name!r} must be a model name; {_DAMAGED}")
        if not _is_options(options):
            raise fail(f"'{keys.options}' {options!r} must be a mapping of options; {_DAMAGED}")
        try:
            size = ImageSize.parse(data["input_size"], f"{where} input_size")
        except ConfigError as exc:
            raise keys.error(*_args(keys.error, where, str(exc))) from None
        norm = data if keys.nested is None else data.get(keys.nested, {})
        if not isinstance(norm, dict):
            raise fail(f"'{keys.nested}' must be a mapping, got {type(norm).__name__}")
        return cls(
            name=name,
            input_size=size,
            mean=_three_numbers(norm, "mean", fail),
            std=_three_numbers(norm, "std", fail),
            embed_dim=_dimension(norm, fail),
            options=dict(options),
        )

    def check_model(self, spec: Any, where: str) -> None:
        """Refuse a recorded mean, std or embedding size that is not the built model's.

        Raises:
            WeightsError: the file records other values than ``spec`` (a ModelSpec).
        """
        for key in ("mean", "std"):
            recorded = getattr(self, key)
            ours = [round(float(v), 6) for v in getattr(spec, key)]
            if recorded is not None and [round(v, 6) for v in recorded] != ours:
                raise WeightsError(
                    f"{where}: '{key}' {list(recorded)} is not the {key} of {self.name} "
                    f"({ours}); the file was edited by hand: export the checkpoint again"
                )
        if self.embed_dim is not None and self.embed_dim != int(spec.embed_dim):
            raise WeightsError(
                f"{where}: 'embed_dim' {self.embed_dim} is not the embedding size of "
                f"{self.name} ({spec.embed_dim}); write the file again with footreid"
            )


def plain(options: dict[str, Any]) -> dict[str, Any]:
    """``options`` as JSON files store them (tuples become lists, others their text)."""
    return json.loads(json.dumps(options, sort_keys=True, default=str))


def _floats(values: Any) -> tuple[float, float, float]:
    a, b, c = (float(v) for v in values)
    return a, b, c


def _is_options(options: Any) -> bool:
    return isinstance(options, dict) and all(isinstance(k, str) for k in options)


def _args(error: type[FootreidError], where: str, message: str) -> tuple[Any, ...]:
    """Constructor arguments of ``error`` for ``message`` (DataError takes the path apart)."""
    if error is DataError:
        return (None, message)
    return (message,)


def _failure(error: type[FootreidError], where: str) -> Any:
    def fail(problem: str) -> FootreidError:
        return error(*_args(error, where, f"{where}: {problem}"))

    return fail


def _three_numbers(data: dict[str, Any], key: str, fail: Any) -> tuple[float, float, float] | None:
    if key not in data:
        return None
    value = data[key]
    if not (
        isinstance(value, list | tuple)
        and len(value) == 3
        and all(type(v) in (int, float) for v in value)
    ):
        raise fail(f"'{key}' must be three numbers (per RGB channel), got {value!r}")
    return _floats(value)


def _dimension(data: dict[str, Any], fail: Any) -> int | None:
    if "embed_dim" not in data:
        return None
    value = data["embed_dim"]
    if type(value) is not int or value < 1:
        raise fail(f"'embed_dim' must be a positive integer, got {value!r}")
    return value
