"""The PostgreSQL memory store's connections: the shared pool with the memory errors.

Pool, retries and error mapping live in :mod:`fluent_ai.storage.postgres_pool`; this
binds them to pgvector's type, the memory schema and the memory store's error classes.
"""

from __future__ import annotations

from pgvector.psycopg import register_vector_async

from fluent_ai.memory.errors import InvalidMemoryError, MemoryStoreError, StoreClosedError
from fluent_ai.memory.stores.postgres_schema import migrate
from fluent_ai.storage.postgres_pool import Conn, PostgresPool

__all__ = ["Conn", "PgConnections"]


class PgConnections(PostgresPool):
    """A pool of connections to one memory database, opened (and migrated) on demand."""

    def __init__(
        self, url: str, *, min_connections: int, max_connections: int, timeout: float
    ) -> None:
        super().__init__(
            url,
            min_connections=min_connections,
            max_connections=max_connections,
            timeout=timeout,
            kind="memory",
            configure=register_vector_async,
            migrate=migrate,
            invalid_error=InvalidMemoryError,
            store_error=MemoryStoreError,
            closed_error=StoreClosedError,
        )
