"""Dataclasses as schemas: plain data (YAML, JSON) <-> typed dataclasses, checked strictly.

:func:`from_dict` builds a dataclass from a mapping and checks every value against the
field's type hint (dataclasses, lists, tuples, dicts, ``X | None``, ``Literal`` choices,
bool/int/float/str); an unknown key or a wrong value raises a :class:`ConfigError` that
names the dotted field and, for names, the closest known ones. :func:`to_dict` goes back
to plain values, and :func:`set_path` applies one ``--set a.b=c`` override to plain data
after checking its path against the schema.
"""

from __future__ import annotations

import dataclasses
import types
import typing
from collections.abc import Mapping
from pathlib import Path
from typing import Any, Literal, TypeVar

from footreid.core.errors import ConfigError
from footreid.core.registry import suggest

T = TypeVar("T")


def _fail(where: str, source: str, problem: str) -> ConfigError:
    prefix = f"{source}: " if source else ""
    return ConfigError(f"{prefix}{where or '<root>'}: {problem}")


def from_dict(cls: type[T], data: Any, where: str = "", source: str = "") -> T:
    """Build dataclass ``cls`` from a mapping, type-checking every value.

    Args:
        cls: a dataclass type (e.g. :class:`RunConfig`).
        data: a mapping of its field names (missing fields take their defaults).
        where: dotted path of ``data`` inside the root config (for messages).
        source: file or option the values came from (for messages).

    Raises:
        ConfigError: an unknown key (with suggestions) or a value of the wrong type.
    """
    if not isinstance(data, Mapping):
        raise _fail(where, source, f"expected a mapping, got {type(data).__name__}")
    hints = typing.get_type_hints(cls)
    names = [f.name for f in dataclasses.fields(cls)]  # type: ignore[arg-type]
    for key in data:
        if key not in names:
            raise _fail(_join(where, str(key)), source, f"unknown key; {suggest(str(key), names)}")
    values = {k: _convert(v, hints[k], _join(where, k), source) for k, v in data.items()}
    return cls(**values)


def _join(where: str, key: str | int) -> str:
    return f"{where}.{key}" if where else str(key)


def _convert(value: Any, tp: Any, where: str, source: str) -> Any:
    """Check ``value`` against type ``tp`` (and convert YAML-ish strings of numbers)."""
    origin, args = typing.get_origin(tp), typing.get_args(tp)
    if tp is Any:
        return value
    if origin in (typing.Union, types.UnionType):
        if value is None and type(None) in args:
            return None
        options = [a for a in args if a is not type(None)]
        errors = []
        for option in options:
            try:
                return _convert(value, option, where, source)
            except ConfigError as exc:
                errors.append(str(exc))
        raise ConfigError(errors[-1])
    if origin is Literal:
        if value not in args:
            choices = [str(a) for a in args]
            raise _fail(where, source, f"'{value}' is not allowed; {suggest(str(value), choices)}")
        return value
    if dataclasses.is_dataclass(tp):
        return from_dict(tp, value, where, source)
    if origin in (list, tuple) or tp in (list, tuple):
        return _convert_sequence(value, tp, where, source)
    if origin is dict or tp is dict:
        if not isinstance(value, Mapping):
            raise _fail(where, source, f"expected a mapping, got {value!r}")
        item = args[1] if len(args) == 2 else Any
        return {str(k): _convert(v, item, _join(where, str(k)), source) for k, v in value.items()}
    return _convert_scalar(value, tp, where, source)


def _convert_sequence(value: Any, tp: Any, where: str, source: str) -> Any:
    if not isinstance(value, list | tuple):
        raise _fail(where, source, f"expected a list, got {value!r}")
    args = typing.get_args(tp)
    if typing.get_origin(tp) is tuple and args and args[-1] is not Ellipsis:
        if len(args) != len(value):
            raise _fail(where, source, f"expected {len(args)} items, got {len(value)}")
        return tuple(
            _convert(v, a, _join(where, i), source)
            for i, (v, a) in enumerate(zip(args, value, strict=True))
        )
    item = args[0] if args else Any
    out = [_convert(v, item, _join(where, i), source) for i, v in enumerate(value)]
    return tuple(out) if typing.get_origin(tp) is tuple else out


def _convert_scalar(value: Any, tp: Any, where: str, source: str) -> Any:
    if tp is bool:
        if isinstance(value, bool):
            return value
        raise _fail(where, source, f"expected true or false, got {value!r}")
    if tp in (int, float) and isinstance(value, str):
        try:
            value = float(value) if tp is float else int(value)
        except ValueError:
            raise _fail(where, source, f"expected {tp.__name__}, got {value!r}") from None
    if tp is float and isinstance(value, int | float) and not isinstance(value, bool):
        return float(value)
    if tp is int and isinstance(value, float) and value.is_integer():
        return int(value)
    if tp in (int, str) and isinstance(value, tp) and not isinstance(value, bool):
        return value
    raise _fail(where, source, f"expected {getattr(tp, '__name__', tp)}, got {value!r}")


def to_dict(obj: Any) -> Any:
    """Plain YAML/JSON types (dicts, lists, scalars) of a config dataclass."""
    if dataclasses.is_dataclass(obj) and not isinstance(obj, type):
        return {f.name: to_dict(getattr(obj, f.name)) for f in dataclasses.fields(obj)}
    if isinstance(obj, Mapping):
        return {str(k): to_dict(v) for k, v in obj.items()}
    if isinstance(obj, list | tuple):
        return [to_dict(v) for v in obj]
    if isinstance(obj, Path):
        return str(obj)
    return obj


def _field_type(tp: Any) -> Any:
    """Strip ``X | None`` to ``X``."""
    args = [a for a in typing.get_args(tp) if a is not type(None)]
    if typing.get_origin(tp) in (typing.Union, types.UnionType) and len(args) == 1:
        return args[0]
    return tp


def set_path(raw: dict[str, Any], path: list[str], value: Any, schema: type, text: str) -> None:
    """Set ``raw[path] = value`` after checking every key of the path against the schema."""
    tp: Any = schema
    node: Any = raw
    for i, part in enumerate(path):
        here, last = ".".join(path[: i + 1]), i == len(path) - 1
        tp = _field_type(tp)
        if dataclasses.is_dataclass(tp):
            names = [f.name for f in dataclasses.fields(tp)]
            if part not in names:
                raise ConfigError(f"--set {text}: unknown key '{here}'; {suggest(part, names)}")
            tp = typing.get_type_hints(tp)[part]
        elif typing.get_origin(tp) in (list, tuple) or isinstance(node, list):
            size = len(node) if isinstance(node, list) else 0
            if not (part.isascii() and part.isdigit()) or int(part) >= size:
                raise ConfigError(f"--set {text}: '{here}': index must be 0..{size - 1}")
            part, tp = int(part), (typing.get_args(tp) or (Any,))[0]
        elif typing.get_origin(tp) is dict or tp is dict:
            tp = typing.get_args(tp)[1] if typing.get_args(tp) else Any
        elif tp is not Any:
            raise ConfigError(f"--set {text}: '{'.'.join(path[:i])}' is a value, not a section")
        if last:
            node[part] = value
        else:
            child = node[part] if isinstance(node, list) else node.get(part)
            if not isinstance(child, dict | list):  # a free-form value becomes a section
                node[part] = {}
            node = node[part]
