"""One registry style for every pluggable backend: built-ins register by name, third parties by entry point.

A `Registry` maps a name to a factory. Built-ins call `register` when their module is imported;
installed packages add backends through a Python entry-point group (as simonw/llm's plugins do), e.g.
in their pyproject.toml:

    [project.entry-points."kulturplan.generators"]
    mine = "my_package.module:MyGenerator"

Entry points are read once, lazily, on the first look-up of a name that no built-in registered.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator
from importlib.metadata import entry_points
from typing import Generic, TypeVar

logger = logging.getLogger(__name__)

T = TypeVar("T")
_MISSING = object()


class UnknownBackend(LookupError):
    """No backend of that name is registered; the message lists the known ones."""

    def __str__(self) -> str:  # LookupError would quote the message like a dict key
        return str(self.args[0]) if self.args else ""


class Registry(Generic[T]):
    """Named factories of one kind of backend (`kind` names it in error messages)."""

    def __init__(self, kind: str, entry_point_group: str | None = None):
        self.kind = kind
        self.entry_point_group = entry_point_group
        self._factories: dict[str, T] = {}
        self._plugins_loaded = entry_point_group is None

    def register(self, name: str, factory: T | None = None) -> Callable[[T], T] | T:
        """Register `factory` under `name`; without `factory`, use as a class or function decorator."""
        if factory is None:
            return lambda decorated: self.register(name, decorated)
        self._factories[name] = factory
        return factory

    def get(self, name: str, default: object = _MISSING) -> T:
        """The factory registered as `name`; `default` (if given) instead of UnknownBackend."""
        if name not in self._factories:
            self.load_plugins()
        try:
            return self._factories[name]
        except KeyError:
            if default is not _MISSING:
                return default  # type: ignore[return-value]
            raise UnknownBackend(f"unknown {self.kind} {name!r} (known: {', '.join(self.names()) or 'none'})") from None

    def __contains__(self, name: object) -> bool:
        if name not in self._factories:
            self.load_plugins()
        return name in self._factories

    # Mapping-style access, so that tests can swap a backend with pytest's monkeypatch.setitem,
    # which undoes itself.
    def __getitem__(self, name: str) -> T:
        return self.get(name)

    def __setitem__(self, name: str, factory: T) -> None:
        self.register(name, factory)

    def __delitem__(self, name: str) -> None:
        del self._factories[name]

    def __iter__(self) -> Iterator[str]:
        return iter(self.names())

    def __len__(self) -> int:
        return len(self._factories)

    def names(self) -> list[str]:
        return list(self._factories)  # registration order: built-ins first

    def items(self) -> Iterator[tuple[str, T]]:
        return iter(list(self._factories.items()))

    def values(self) -> list[T]:
        return list(self._factories.values())

    def load_plugins(self, force: bool = False) -> None:
        """Register the backends that installed packages declare in the entry-point group."""
        if (self._plugins_loaded and not force) or self.entry_point_group is None:
            return
        self._plugins_loaded = True
        for entry in entry_points(group=self.entry_point_group):
            if entry.name in self._factories and not force:
                continue  # a built-in wins over a plugin of the same name
            try:
                self._factories[entry.name] = entry.load()
            except Exception as error:  # a broken plugin must not take the built-ins down with it
                logger.warning("cannot load %s plugin %r: %s", self.kind, entry.name, error)
