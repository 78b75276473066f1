"""Typed listeners: the one way to subscribe to changes in the core.

``add(callback)`` returns the function that removes it again; ``emit(value)`` calls every
callback with ``value``. A callback that raises is logged and the others still run (a broken
entity must not stop the engine). :class:`KeyedListeners` keeps one list per key (a charger
id), so a change of one charger reaches only that charger's callbacks: a meter frame costs the
same with 1 or 200 chargers.
"""

from __future__ import annotations

from collections.abc import Callable
import logging

_LOGGER = logging.getLogger(__name__)

type Remove = Callable[[], None]


class Listeners[T]:
    """Callbacks taking a ``T``; ``name`` says what they listen to (in error logs)."""

    __slots__ = ("_callbacks", "name")

    def __init__(self, name: str) -> None:
        """No callbacks yet."""
        self.name = name
        self._callbacks: list[Callable[[T], None]] = []

    def add(self, callback: Callable[[T], None]) -> Remove:
        """Call ``callback`` on every :meth:`emit`; returns its removal (safe to call twice)."""
        self._callbacks.append(callback)

        def remove() -> None:
            if callback in self._callbacks:
                self._callbacks.remove(callback)

        return remove

    def emit(self, value: T) -> None:
        """Call every callback with ``value`` (a failing one is logged, the rest still run)."""
        for callback in tuple(self._callbacks):
            try:
                callback(value)
            except Exception:
                _LOGGER.exception("Error in a %s listener", self.name)

    def __bool__(self) -> bool:
        """Whether anyone listens (skip building a value nobody receives)."""
        return bool(self._callbacks)

    def __len__(self) -> int:
        """How many callbacks listen."""
        return len(self._callbacks)


class KeyedListeners[K, T]:
    """:class:`Listeners` per key: :meth:`emit` for one key reaches only that key's callbacks."""

    __slots__ = ("_by_key", "name")

    def __init__(self, name: str) -> None:
        """No callbacks yet."""
        self.name = name
        self._by_key: dict[K, Listeners[T]] = {}

    def add(self, key: K, callback: Callable[[T], None]) -> Remove:
        """Call ``callback`` on every :meth:`emit` for ``key``; returns its removal."""
        listeners = self._by_key.get(key)
        if listeners is None:
            listeners = self._by_key[key] = Listeners(self.name)
        remove_callback = listeners.add(callback)

        def remove() -> None:
            remove_callback()
            if not listeners and self._by_key.get(key) is listeners:
                del self._by_key[key]

        return remove

    def emit(self, key: K, value: T) -> None:
        """Call the callbacks of ``key`` with ``value``."""
        listeners = self._by_key.get(key)
        if listeners is not None:
            listeners.emit(value)

    def count(self, key: K) -> int:
        """How many callbacks listen to ``key``."""
        listeners = self._by_key.get(key)
        return 0 if listeners is None else len(listeners)
