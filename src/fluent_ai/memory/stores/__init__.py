"""Memory store backends: SQLite (embedded, the default); PostgreSQL past one machine.

``PostgresMemoryStore`` is imported on first use, so SQLite users never load psycopg.
"""

from typing import TYPE_CHECKING

from fluent_ai.memory.stores.sqlite import SqliteMemoryStore, default_path

if TYPE_CHECKING:
    from fluent_ai.memory.stores.postgres import PostgresMemoryStore

__all__ = ["PostgresMemoryStore", "SqliteMemoryStore", "default_path"]


def __getattr__(name: str) -> object:
    if name == "PostgresMemoryStore":
        from fluent_ai.memory.stores.postgres import PostgresMemoryStore

        return PostgresMemoryStore
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
