"""``ImageSize``: an input size (H, W) in pixels, parsed and checked once at the boundary.

Recipes write sizes as ``[H, W]`` lists, the command line as ``HxW`` strings, checkpoints
as ``[H, W]`` lists and models as ``(H, W)`` tuples; :meth:`ImageSize.parse` turns any of
them into one value and says what is wrong with a bad one. An ``ImageSize`` *is* an
``(H, W)`` tuple of ints (a NamedTuple), so it unpacks, compares and indexes like one;
files get :meth:`ImageSize.to_list`.
"""

from __future__ import annotations

import numbers
from typing import Any, NamedTuple

from footreid.core.errors import ConfigError

MAX_SIDE = 8192
"""Larger sides are typing mistakes (a crop of SoccerNet is at most about 1000 pixels)."""


class ImageSize(NamedTuple):
    """(height, width) in pixels, both positive."""

    height: int
    width: int

    @classmethod
    def parse(
        cls, value: Any, where: str = "input_size", multiple_of: int | None = None
    ) -> ImageSize:
        """An ``ImageSize`` from ``[H, W]``, ``(H, W)``, ``"HxW"`` or an ``ImageSize``.

        Args:
            value: the size as a config, a file or the command line gives it.
            where: the field or option named in errors (``stages.0.input_size``).
            multiple_of: a ViT's patch size: both sides must be multiples of it.

        Raises:
            ConfigError: not two integers, a side outside [1, MAX_SIDE], or a side that
                is not a multiple of ``multiple_of`` (the message proposes the nearest size).
        """
        pair = _pair(value)
        if pair is None or any(not 0 < side <= MAX_SIDE for side in pair):
            raise ConfigError(
                f"{where}: expected [H, W] (or HxW) with sides in 1..{MAX_SIDE}, got {value!r}"
            )
        size = cls(*pair)
        if multiple_of and (size.height % multiple_of or size.width % multiple_of):
            raise ConfigError(
                f"{where}: {size}: both sides must be multiples of the patch size "
                f"{multiple_of}; use {size.rounded_to(multiple_of).to_list()}"
            )
        return size

    def rounded_to(self, multiple: int) -> ImageSize:
        """The nearest size whose sides are positive multiples of ``multiple``."""
        return ImageSize(*(max(multiple, round(side / multiple) * multiple) for side in self))

    def to_list(self) -> list[int]:
        """``[H, W]``, as YAML, JSON and checkpoints store it."""
        return [int(self.height), int(self.width)]

    def __str__(self) -> str:
        return f"{self.height}x{self.width}"


def _pair(value: Any) -> tuple[int, int] | None:
    """Two ints from a sequence or an ``HxW`` string; None when ``value`` is not one."""
    if isinstance(value, str):
        parts = value.lower().split("x")
        if len(parts) != 2 or not all(p.strip().isascii() and p.strip().isdigit() for p in parts):
            return None
        return int(parts[0]), int(parts[1])
    if not isinstance(value, list | tuple) or len(value) != 2:
        return None
    if any(isinstance(v, bool) or not _is_integral(v) for v in value):
        return None
    return int(value[0]), int(value[1])


def _is_integral(value: Any) -> bool:
    """True for ints (numpy's too) and floats without a fraction (YAML may give 256.0)."""
    if not isinstance(value, numbers.Real):  # a tensor, a string...: not a side
        return False
    try:
        return int(value) == value
    except (ValueError, OverflowError):  # nan, inf
        return False
