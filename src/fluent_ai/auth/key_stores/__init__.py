"""Which key store a location names: a SQLite file (the default) or a PostgreSQL URL.

One function so ``fluent-ai keys`` and ``fluent-ai serve`` read a location the same way
(as :func:`fluent_ai.memory.factory.open_store` does for memory). PostgreSQL's driver is
imported only when a ``postgresql://`` URL is used.
"""

from __future__ import annotations

import importlib
from pathlib import Path

from fluent_ai.auth.key_store import KeyStore
from fluent_ai.errors import InvalidParameterError, redact_url

__all__ = ["POSTGRES_SCHEMES", "open_key_store"]

POSTGRES_SCHEMES = ("postgresql://", "postgres://")


def open_key_store(location: str | Path | KeyStore | None = None) -> KeyStore:
    """The key store at ``location`` (not yet opened).

    ``None`` is the ``keys_store`` setting (which ``database_url`` fills when set), else
    ``keys.db`` under ``FLUENT_AI_HOME``; a ``postgresql://`` URL is PostgreSQL, shared by
    server replicas; anything else is a SQLite file path. A store object is returned as is.
    """
    if isinstance(location, KeyStore):
        return location
    if location is None:
        from fluent_ai.config import load_settings

        location = load_settings().keys_store
    if location is not None and not isinstance(location, str | Path):
        raise InvalidParameterError(
            "store", f"must be a path, a postgresql:// URL or a KeyStore, got {location!r:.60}"
        )
    text = str(location) if location is not None else ""
    if text.startswith(POSTGRES_SCHEMES):
        module = importlib.import_module("fluent_ai.auth.key_stores.postgres")
        store: KeyStore = module.PostgresKeyStore(text)
        return store
    if "://" in text:
        raise InvalidParameterError(
            "store", f"unknown store URL {redact_url(text)!r}: use a file path or postgresql://..."
        )
    from fluent_ai.auth.key_stores.sqlite import SqliteKeyStore

    return SqliteKeyStore(text or None)
