"""One reading of a pydantic ValidationError for messages (settings, tool arguments,
extraction feedback): ``field.path: message`` joined with ``; ``."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from pydantic import ValidationError

__all__ = ["problems"]


def problems(exc: ValidationError, root: str = "") -> str:
    """Each error as ``loc: msg``; ``root`` names an error about the whole value."""
    return "; ".join(
        f"{'.'.join(str(p) for p in e['loc']) or root}: {e['msg']}" for e in exc.errors()
    )
