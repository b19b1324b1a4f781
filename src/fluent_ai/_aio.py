"""Two small async helpers used wherever user code or user providers are called."""

from __future__ import annotations

import inspect
from collections.abc import Awaitable
from typing import TypeVar

__all__ = ["aclose_quietly", "resolve"]

T = TypeVar("T")


async def resolve(value: T | Awaitable[T]) -> T:
    """``value`` itself, or what it resolves to: user callbacks may be sync or async."""
    if inspect.isawaitable(value):
        return await value
    return value


async def aclose_quietly(iterator: object) -> None:
    """Close an async iterator if it can be closed (a plain ``__anext__`` class cannot)."""
    closer = getattr(iterator, "aclose", None)
    if closer is not None:
        await closer()
