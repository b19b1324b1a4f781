"""Which backend a store location names: one rule for the memory, chat and key stores.

``None`` is the store's own setting; a ``postgresql://`` (or ``postgres://``) URL is
PostgreSQL; another ``scheme://`` is refused (with any credentials in it hidden); anything
else is a SQLite file path, ``""`` meaning the store's default file under the home.
"""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from fluent_ai.errors import InvalidParameterError, redact_url

__all__ = ["POSTGRES_SCHEMES", "Backend", "resolve_location"]

POSTGRES_SCHEMES = ("postgresql://", "postgres://")

Backend = Literal["postgres", "sqlite"]


def resolve_location(location: object, setting: str, kind: str) -> tuple[Backend, str]:
    """The backend for ``location`` and the URL or path to give it.

    ``setting`` names the Settings field read when ``location`` is None; ``kind`` names the
    store object also accepted (for the error message).
    """
    if location is None:
        from fluent_ai.config import load_settings

        location = getattr(load_settings(), setting)
    if location is not None and not isinstance(location, str | Path):
        raise InvalidParameterError(
            "store", f"must be a path, a postgresql:// URL or a {kind}, got {location!r:.60}"
        )
    text = str(location) if location is not None else ""
    if text.startswith(POSTGRES_SCHEMES):
        return "postgres", text
    if "://" in text:
        raise InvalidParameterError(
            "store", f"unknown store URL {redact_url(text)!r}: use a file path or postgresql://..."
        )
    return "sqlite", text
