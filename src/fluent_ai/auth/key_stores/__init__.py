"""Which key store a location names: a SQLite file (the default) or a PostgreSQL URL.

One function so ``fluent-ai keys`` and ``fluent-ai serve`` read a location the same way
(as :func:`fluent_ai.memory.factory.open_store` does for memory). PostgreSQL's driver is
imported only when a ``postgresql://`` URL is used.
"""

from __future__ import annotations

import importlib
from pathlib import Path

from fluent_ai.auth.key_store import KeyStore
from fluent_ai.storage.location import POSTGRES_SCHEMES, resolve_location

__all__ = ["POSTGRES_SCHEMES", "open_key_store"]


def open_key_store(location: str | Path | KeyStore | None = None) -> KeyStore:
    """The key store at ``location`` (not yet opened).

    ``None`` is the ``keys_store`` setting (which ``database_url`` fills when set), else
    ``keys.db`` under ``FLUENT_AI_HOME``; a ``postgresql://`` URL is PostgreSQL, shared by
    server replicas; anything else is a SQLite file path. A store object is returned as is.
    """
    if isinstance(location, KeyStore):
        return location
    backend, text = resolve_location(location, "keys_store", "KeyStore")
    if backend == "postgres":
        module = importlib.import_module("fluent_ai.auth.key_stores.postgres")
        store: KeyStore = module.PostgresKeyStore(text)
        return store
    from fluent_ai.auth.key_stores.sqlite import SqliteKeyStore

    return SqliteKeyStore(text or None)
