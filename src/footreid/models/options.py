"""Typed model options: one frozen dataclass per family, checked before anything is built.

A family declares its options (``model.options`` of a recipe, ``-o KEY=VALUE`` of
``footreid embed``) as a :class:`ModelOptions` subclass with typed, defaulted fields.
:func:`parse_options` turns the plain values of a config into that dataclass: an
unknown name is an error listing the family's options (with the closest one first), a
value of the wrong type or range an error naming the option. Field types checked here:
``bool``, ``int``, ``float``, ``str``, ``Literal`` choices and :class:`ImageSize`; a
family checks anything else (and ranges) in :meth:`ModelOptions.check`.
"""

from __future__ import annotations

import dataclasses
import typing
from collections.abc import Mapping
from typing import Any, ClassVar, Literal, TypeVar

from footreid.core.errors import ConfigError
from footreid.core.registry import suggest
from footreid.core.size import ImageSize

OptionsT = TypeVar("OptionsT", bound="ModelOptions")


@dataclasses.dataclass(frozen=True)
class ModelOptions:
    """Base of a family's options; fields are checked (and normalised) on construction.

    ``PATCH``: a ViT family's patch size, which ``input_size`` must be a multiple of.
    """

    PATCH: ClassVar[int | None] = None

    def __post_init__(self) -> None:
        hints = typing.get_type_hints(type(self))
        for f in dataclasses.fields(self):
            value = _checked(f.name, getattr(self, f.name), hints[f.name], self.PATCH)
            object.__setattr__(self, f.name, value)
        self.check()

    def check(self) -> None:
        """Family-specific checks (ranges, combinations); raise ConfigError("option x: ...")."""

    @classmethod
    def names(cls) -> list[str]:
        """The option names, in declaration order."""
        return [f.name for f in dataclasses.fields(cls)]


def parse_options(model: str, cls: type[OptionsT], given: Mapping[str, Any]) -> OptionsT:
    """The typed options of ``model`` from plain ``given`` values (missing: defaults).

    Raises:
        ConfigError: ``model '<name>' has no option(s) ...`` with the known names, or
            ``model '<name>' option <field>: ...`` for a bad value.
    """
    known = cls.names()
    unknown = [str(k) for k in given if k not in known]
    if unknown:
        raise ConfigError(
            f"model '{model}' has no option(s) {', '.join(unknown)}; {suggest(unknown[0], known)}"
        )
    try:
        return cls(**given)
    except ConfigError as exc:
        raise ConfigError(f"model '{model}' {exc}") from None


def _checked(name: str, value: Any, tp: Any, patch: int | None) -> Any:
    """``value`` of option ``name`` checked against type ``tp`` (ints become floats)."""
    where = f"option {name}"
    if tp is ImageSize:
        return ImageSize.parse(value, where, multiple_of=patch)
    if typing.get_origin(tp) is Literal:
        if value not in typing.get_args(tp):
            raise ConfigError(
                f"{where}: '{value}' is not allowed; {suggest(str(value), typing.get_args(tp))}"
            )
        return value
    if tp is bool and not isinstance(value, bool):
        raise ConfigError(f"{where}: expected true or false, got {value!r}")
    if tp is int and (isinstance(value, bool) or not isinstance(value, int)):
        raise ConfigError(f"{where}: expected an integer, got {value!r}")
    if tp is float:
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise ConfigError(f"{where}: expected a number, got {value!r}")
        return float(value)
    if tp is str and not isinstance(value, str):
        raise ConfigError(f"{where}: expected a string, got {value!r}")
    return value
