"""Name -> object registries with a clear error for an unknown name (after pycls's core/builders.py).

Every "name -> thing" table of msenas is a `Registry`: neurons, ops, attentions,
templates, search spaces, datasets, proxies, composites, losses, optimisers,
strategies, executors, objectives, report folder kinds. Validators ask the
registry (`name in REG`, `REG.check(field, value)`), so a new entry is known
everywhere at once, and tests iterate over `REG.items()`.
"""
from __future__ import annotations

from typing import Callable, Generic, Iterator, TypeVar

from msenas.errors import MsenasError, short

T = TypeVar("T")


class RegistryError(MsenasError, KeyError):
    """An unknown name was looked up; str() is a one-line, user-facing message."""

    def __str__(self) -> str:
        return str(self.args[0])


class Registry(Generic[T]):
    """A named table: `@REG.register("name")` (or `REG.register("name")(obj)`), then `REG.get("name")`."""

    def __init__(self, kind: str):
        self.kind = kind
        self._items: dict[str, T] = {}

    def register(self, name: str) -> Callable[[T], T]:
        """Decorator adding `obj` under `name`; a name registers once."""
        def deco(obj: T) -> T:
            if name in self._items:
                raise ValueError(f"{self.kind} {name!r} registered twice")
            self._items[name] = obj
            return obj
        return deco

    def unregister(self, name: str) -> T:
        """Remove the entry named `name` and return it (a scratch entry of a test); RegistryError if unknown."""
        entry = self.get(name)
        del self._items[name]
        return entry

    def get(self, name: str, error: type[Exception] = RegistryError) -> T:
        """The entry named `name`; `error` (RegistryError by default) lists the known names otherwise."""
        try:
            return self._items[name]
        except (KeyError, TypeError):
            raise error(f"unknown {self.kind} {short(name)}; known: {', '.join(self.names())}") from None

    def check(self, field: str, name: object) -> str:
        """The message for a config field holding a name outside the registry ('' when known)."""
        return "" if name in self else f"{field}: must be one of {', '.join(self.names())}, got {short(name)}"

    def names(self) -> list[str]:
        """Registered names, in the order they were registered."""
        return list(self._items)

    def items(self) -> list[tuple[str, T]]:
        """(name, entry) pairs, in registration order."""
        return list(self._items.items())

    def __getitem__(self, name: str) -> T:
        return self.get(name)

    def __contains__(self, name: object) -> bool:
        try:
            return name in self._items
        except TypeError:  # unhashable
            return False

    def __iter__(self) -> Iterator[str]:
        return iter(self.names())

    def __len__(self) -> int:
        return len(self._items)
