"""The PostgreSQL store's connections: URL checks, migration on open, the pool, typed errors.

One ``AsyncConnectionPool`` (psycopg-pool) per store; each connection autocommits (a read
is one statement and never holds a transaction open), knows pgvector's binary type, and
is checked before it is handed out, so connections the server dropped (a restart, an
idle timeout) are replaced instead of failing the next call. Every call runs through
:meth:`PgConnections.run`, which retries a transaction the server aborted for a deadlock
or serialisation failure and turns psycopg's exceptions into the memory store's own.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

import psycopg
from pgvector.psycopg import register_vector_async
from psycopg.conninfo import conninfo_to_dict
from psycopg_pool import AsyncConnectionPool, PoolClosed, PoolTimeout

from fluent_ai.errors import redact_url
from fluent_ai.memory.errors import InvalidMemoryError, MemoryStoreError, StoreClosedError
from fluent_ai.memory.stores.postgres_schema import migrate

__all__ = ["Conn", "PgConnections"]

T = TypeVar("T")
Conn = psycopg.AsyncConnection[Any]
#: Attempts of a transaction the server aborted for a deadlock or serialisation failure.
_ATTEMPTS = 4


async def _configure(conn: Conn) -> None:
    """Teach a new pooled connection pgvector's binary type (numpy arrays in and out)."""
    await register_vector_async(conn)


def _check_int(name: str, value: object, low: int, high: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
        raise InvalidMemoryError(f"{name} must be an integer from {low} to {high}")
    return value


class PgConnections:
    """A pool of connections to one database, opened (and migrated) on demand."""

    def __init__(
        self, url: str, *, min_connections: int, max_connections: int, timeout: float
    ) -> None:
        if not isinstance(url, str) or not url.startswith(("postgresql://", "postgres://")):
            raise InvalidMemoryError(
                f"a PostgreSQL store needs a postgresql:// URL; got {redact_url(str(url))!r}"
            )
        try:
            conninfo_to_dict(url)
        except psycopg.ProgrammingError as exc:
            raise InvalidMemoryError(
                f"malformed PostgreSQL URL {redact_url(url)!r}: {exc}"
            ) from None
        self._min = _check_int("min_connections", min_connections, 0, 1_000)
        self._max = _check_int("max_connections", max_connections, 1, 1_000)
        if self._min > self._max:
            raise InvalidMemoryError("min_connections must not exceed max_connections")
        if isinstance(timeout, bool) or not isinstance(timeout, (int, float)) or timeout <= 0:
            raise InvalidMemoryError("timeout must be a positive number of seconds")
        self._url = url
        self._timeout = float(timeout)
        self._pool: AsyncConnectionPool[Conn] | None = None
        self._lock = asyncio.Lock()

    @property
    def url(self) -> str:
        """The database URL with its credentials hidden (safe to log)."""
        return redact_url(self._url)

    async def open(self) -> None:
        """Migrate the schema, then fill the pool. Opening an open pool does nothing."""
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
                configure=_configure,
                check=AsyncConnectionPool.check_connection,
                timeout=self._timeout,
                name="fluent-ai-memory",
            )
            try:
                await pool.open(wait=True, timeout=self._timeout)
            except PoolTimeout as exc:
                await pool.close()
                raise MemoryStoreError(f"cannot connect to {self.url}: {exc}") from None
            self._pool = pool

    async def _migrate(self) -> None:
        try:
            conn = await psycopg.AsyncConnection.connect(
                self._url, autocommit=True, connect_timeout=max(1, round(self._timeout))
            )
        except psycopg.Error as exc:
            raise MemoryStoreError(f"cannot connect to {self.url}: {exc}") from None
        try:
            await migrate(conn)
        except psycopg.Error as exc:
            raise MemoryStoreError(
                f"cannot prepare the memory schema at {self.url}: {exc}"
            ) from exc
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
        where = f"the memory store at {self.url}"
        if pool is None:
            raise StoreClosedError(f"{where} is not open: use `async with` or await open()")
        attempt = 0
        while True:
            attempt += 1
            try:
                async with pool.connection() as conn:
                    return await fn(conn, *args)
            except (psycopg.errors.DeadlockDetected, psycopg.errors.SerializationFailure):
                if attempt >= _ATTEMPTS:
                    raise MemoryStoreError(
                        f"{where}: the transaction kept conflicting with other writers "
                        f"({attempt} attempts); nothing was changed"
                    ) from None
            except PoolClosed:
                raise StoreClosedError(f"{where} was closed during the call") from None
            except PoolTimeout as exc:
                raise MemoryStoreError(f"{where}: {exc}") from None
            except (psycopg.DataError, UnicodeEncodeError) as exc:
                raise InvalidMemoryError(
                    f"PostgreSQL cannot store this value: {_message(exc)}; nothing was changed"
                ) from None
            except psycopg.Error as exc:
                raise MemoryStoreError(f"{where}: {_message(exc)}") from exc


def _message(exc: BaseException) -> str:
    """The server's primary message when there is one (no SQL context, no parameters)."""
    if isinstance(exc, psycopg.Error) and exc.diag.message_primary:
        return exc.diag.message_primary
    return str(exc).splitlines()[0] if str(exc) else type(exc).__name__
