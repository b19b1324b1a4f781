"""Which store a location names: a SQLite file (the default) or a PostgreSQL URL.

One function so the agent builder, the CLI (``--store``) and the server read a location
the same way. PostgreSQL's driver is imported only when a ``postgresql://`` URL is used.
"""

from __future__ import annotations

import importlib
from pathlib import Path

from fluent_ai.errors import InvalidParameterError
from fluent_ai.memory.store import MemoryStore

__all__ = ["POSTGRES_SCHEMES", "open_store"]

POSTGRES_SCHEMES = ("postgresql://", "postgres://")


def open_store(location: str | Path | MemoryStore | None = None) -> MemoryStore:
    """The store at ``location`` (not yet opened).

    ``None`` is the ``memory_store`` setting, else ``memory.db`` under ``FLUENT_AI_HOME``;
    a ``postgresql://`` URL is PostgreSQL (pgvector); anything else is a SQLite file path
    (``":memory:"`` for a throwaway one). A store object is returned as it is.
    """
    if isinstance(location, MemoryStore):
        return location
    if location is None:
        from fluent_ai.config import load_settings

        location = load_settings().memory_store
    if location is not None and not isinstance(location, str | Path):
        raise InvalidParameterError(
            "store", f"must be a path, a postgresql:// URL or a MemoryStore, got {location!r:.60}"
        )
    text = str(location) if location is not None else ""
    if text.startswith(POSTGRES_SCHEMES):
        module = importlib.import_module("fluent_ai.memory.stores.postgres")
        store: MemoryStore = module.PostgresMemoryStore(text)
        return store
    if "://" in text:
        raise InvalidParameterError(
            "store", f"unknown store URL {text!r}: use a file path or postgresql://..."
        )
    from fluent_ai.memory.stores.sqlite import SqliteMemoryStore

    return SqliteMemoryStore(text or None)
