"""The PostgreSQL chat store's connections: the shared pool with the chat errors.

Pool, retries and error mapping live in :mod:`fluent_ai.storage.postgres_pool`; this
binds them to pgvector's type, the chat schema and the chat store's error classes (a
query the full-text parser rejects is an :class:`InvalidSearchQueryError`).
"""

from __future__ import annotations

from pgvector.psycopg import register_vector_async

from fluent_ai.chat.stores.errors import (
    ChatStoreClosedError,
    ChatStoreError,
    InvalidChatDataError,
    InvalidSearchQueryError,
)
from fluent_ai.chat.stores.postgres_schema import migrate
from fluent_ai.storage.postgres_pool import Conn, PostgresPool

__all__ = ["ChatConnections", "Conn"]


class ChatConnections(PostgresPool):
    """A pool of connections to one chat database, opened (and migrated) on demand."""

    def __init__(
        self, url: str, *, min_connections: int, max_connections: int, timeout: float
    ) -> None:
        super().__init__(
            url,
            min_connections=min_connections,
            max_connections=max_connections,
            timeout=timeout,
            kind="chat",
            configure=register_vector_async,
            migrate=migrate,
            invalid_error=InvalidChatDataError,
            store_error=ChatStoreError,
            closed_error=ChatStoreClosedError,
            query_error=InvalidSearchQueryError,
        )
