"""A generic name -> object registry, and :func:`suggest`, the one "did you mean" helper."""

from __future__ import annotations

import difflib
from collections.abc import Callable, Iterable, Iterator
from typing import Generic, TypeVar

from footreid.core.errors import RegistryError

T = TypeVar("T")


def suggest(word: str, known: Iterable[str]) -> str:
    """``"did you mean a, b? (known: ...)"``: the closest names to ``word``, then all of them.

    Every "unknown name" error (config keys, registry names, model options, model
    sources) ends with this text, so a typo always comes back with its likely fix.
    """
    names = list(dict.fromkeys(str(k) for k in known))  # the caller's order, once each
    close = difflib.get_close_matches(word, names, n=3, cutoff=0.5)
    hint = f"did you mean {', '.join(close)}? " if close else ""
    return f"{hint}(known: {', '.join(names) or 'none'})"


class Registry(Generic[T]):
    """Maps lower_snake names to objects (usually factories).

    Args:
        kind: what the registry holds, used in error messages ("model", "loss").
    """

    def __init__(self, kind: str) -> None:
        self.kind = kind
        self._items: dict[str, T] = {}

    def register(self, name: str | None = None) -> Callable[[T], T]:
        """Decorator that registers an object under ``name`` (default: its ``__name__``)."""

        def decorator(obj: T) -> T:
            key = name or getattr(obj, "__name__", None)
            if not key:
                raise ValueError(f"cannot infer a {self.kind} name for {obj!r}")
            if key in self._items:
                raise ValueError(f"{self.kind} '{key}' is registered twice")
            self._items[key] = obj
            return obj

        return decorator

    def get(self, name: str) -> T:
        """Return the object registered as ``name``; unknown names list the closest ones."""
        try:
            return self._items[name]
        except KeyError:
            raise RegistryError(
                f"unknown {self.kind} '{name}'; {suggest(name, self.names())}"
            ) from None

    def names(self) -> list[str]:
        """Sorted registered names."""
        return sorted(self._items)

    def __contains__(self, name: object) -> bool:
        return name in self._items

    def __iter__(self) -> Iterator[str]:
        return iter(self.names())

    def __len__(self) -> int:
        return len(self._items)
