"""Which store a location names: a SQLite file (the default) or a PostgreSQL URL.

One function so the agent builder, the CLI (``--store``) and the server read a location
the same way. PostgreSQL's driver is imported only when a ``postgresql://`` URL is used.
"""

from __future__ import annotations

import importlib
from pathlib import Path

from fluent_ai.memory.store import MemoryStore
from fluent_ai.storage.location import POSTGRES_SCHEMES, resolve_location

__all__ = ["POSTGRES_SCHEMES", "open_store"]


def open_store(location: str | Path | MemoryStore | None = None) -> MemoryStore:
    """The store at ``location`` (not yet opened).

    ``None`` is the ``memory_store`` setting, else ``memory.db`` under ``FLUENT_AI_HOME``;
    a ``postgresql://`` URL is PostgreSQL (pgvector); anything else is a SQLite file path
    (``":memory:"`` for a throwaway one). A store object is returned as it is.
    """
    if isinstance(location, MemoryStore):
        return location
    backend, text = resolve_location(location, "memory_store", "MemoryStore")
    if backend == "postgres":
        module = importlib.import_module("fluent_ai.memory.stores.postgres")
        store: MemoryStore = module.PostgresMemoryStore(text)
        return store
    from fluent_ai.memory.stores.sqlite import SqliteMemoryStore

    return SqliteMemoryStore(text or None)
