"""Typed wrappers of ``ocpp.routing``'s decorators, shared by both routers."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar, cast

from ocpp.routing import after as _after, on as _on

F = TypeVar("F", bound=Callable[..., Any])


def on(action: str) -> Callable[[F], F]:
    """``ocpp.routing.on``, typed."""
    return cast("Callable[[F], F]", _on(action))


def after(action: str) -> Callable[[F], F]:
    """``ocpp.routing.after``, typed."""
    return cast("Callable[[F], F]", _after(action))
