"""The PostgreSQL chat store's connections: the pool, migration on open, typed errors.

One ``AsyncConnectionPool`` (psycopg-pool) per store; connections autocommit (a read is
one statement), know pgvector's type, and are checked before use so connections the
server dropped are replaced. :meth:`ChatConnections.run` retries a transaction the server
aborted for a deadlock or serialisation failure and turns psycopg's errors into the chat
store's own.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

import psycopg
from pgvector.psycopg import register_vector_async
from psycopg.conninfo import conninfo_to_dict
from psycopg_pool import AsyncConnectionPool, PoolClosed, PoolTimeout

from fluent_ai.chat.stores.errors import (
    ChatStoreClosedError,
    ChatStoreError,
    InvalidChatDataError,
    InvalidSearchQueryError,
)
from fluent_ai.chat.stores.postgres_schema import migrate
from fluent_ai.errors import redact_url

__all__ = ["ChatConnections", "Conn"]

T = TypeVar("T")
Conn = psycopg.AsyncConnection[Any]
_ATTEMPTS = 4


def _check_int(name: str, value: object, low: int, high: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
        raise InvalidChatDataError(f"{name} must be an integer from {low} to {high}")
    return value


def _message(exc: BaseException) -> str:
    """The server's primary message when there is one (no SQL, no parameters)."""
    if isinstance(exc, psycopg.Error) and exc.diag.message_primary:
        return exc.diag.message_primary
    return str(exc).splitlines()[0] if str(exc) else type(exc).__name__


class ChatConnections:
    """A pool of connections to one database, opened (and migrated) on demand."""

    def __init__(
        self, url: str, *, min_connections: int, max_connections: int, timeout: float
    ) -> None:
        if not isinstance(url, str) or not url.startswith(("postgresql://", "postgres://")):
            raise InvalidChatDataError(
                f"a PostgreSQL chat store needs a postgresql:// URL; got {redact_url(str(url))!r}"
            )
        try:
            conninfo_to_dict(url)
        except psycopg.ProgrammingError as exc:
            raise InvalidChatDataError(
                f"malformed PostgreSQL URL {redact_url(url)!r}: {exc}"
            ) from None
        self._min = _check_int("min_connections", min_connections, 0, 1_000)
        self._max = _check_int("max_connections", max_connections, 1, 1_000)
        if self._min > self._max:
            raise InvalidChatDataError("min_connections must not exceed max_connections")
        if isinstance(timeout, bool) or not isinstance(timeout, (int, float)) or timeout <= 0:
            raise InvalidChatDataError("timeout must be a positive number of seconds")
        self._url = url
        self._timeout = float(timeout)
        self._pool: AsyncConnectionPool[Conn] | None = None
        self._lock = asyncio.Lock()

    @property
    def url(self) -> str:
        """The database URL with its credentials hidden (safe to log)."""
        return redact_url(self._url)

    async def open(self) -> None:
        async with self._lock:
            if self._pool is not None:
                return
            await self._migrate()
            pool: AsyncConnectionPool[Conn] = AsyncConnectionPool(
                self._url,
                min_size=self._min,
                max_size=self._max,
                open=False,
                kwargs={"autocommit": True},
                configure=register_vector_async,
                check=AsyncConnectionPool.check_connection,
                timeout=self._timeout,
                name="fluent-ai-chat",
            )
            try:
                await pool.open(wait=True, timeout=self._timeout)
            except PoolTimeout as exc:
                await pool.close()
                raise ChatStoreError(f"cannot connect to {self.url}: {exc}") from None
            self._pool = pool

    async def _migrate(self) -> None:
        try:
            conn = await psycopg.AsyncConnection.connect(
                self._url, autocommit=True, connect_timeout=max(1, round(self._timeout))
            )
        except psycopg.Error as exc:
            raise ChatStoreError(f"cannot connect to {self.url}: {exc}") from None
        try:
            await migrate(conn)
        except psycopg.Error as exc:
            raise ChatStoreError(f"cannot prepare the chat schema at {self.url}: {exc}") from exc
        finally:
            await conn.close()

    async def close(self) -> None:
        async with self._lock:
            pool, self._pool = self._pool, None
            if pool is not None:
                await pool.close()

    async def run(self, fn: Callable[..., Awaitable[T]], *args: object) -> T:
        """``fn(conn, *args)`` on a pooled connection, with psycopg errors made typed."""
        pool = self._pool
        where = f"the chat store at {self.url}"
        if pool is None:
            raise ChatStoreClosedError(f"{where} is not open: use `async with` or await open()")
        attempt = 0
        while True:
            attempt += 1
            try:
                async with pool.connection() as conn:
                    return await fn(conn, *args)
            except (psycopg.errors.DeadlockDetected, psycopg.errors.SerializationFailure):
                if attempt >= _ATTEMPTS:
                    raise ChatStoreError(
                        f"{where}: the transaction kept conflicting with other writers "
                        f"({attempt} attempts); nothing was changed"
                    ) from None
            except PoolClosed:
                raise ChatStoreClosedError(f"{where} was closed during the call") from None
            except PoolTimeout as exc:
                raise ChatStoreError(f"{where}: {exc}") from None
            except psycopg.errors.SyntaxError as exc:
                raise InvalidSearchQueryError(
                    f"the full-text index rejected the query: {_message(exc)}"
                ) from None
            except (psycopg.DataError, UnicodeEncodeError) as exc:
                raise InvalidChatDataError(
                    f"PostgreSQL cannot store this value: {_message(exc)}; nothing was changed"
                ) from None
            except psycopg.Error as exc:
                raise ChatStoreError(f"{where}: {_message(exc)}") from exc
