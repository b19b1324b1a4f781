"""A PostgreSQL connection pool: URL checks, migration on open, retries, typed errors.

One ``AsyncConnectionPool`` (psycopg-pool) per store; each connection autocommits (a read
is one statement and never holds a transaction open), is set up by the store's
``configure`` callback, and is checked before it is handed out, so connections the
server dropped (a restart, an idle timeout) are replaced instead of failing the next
call. :meth:`PostgresPool.run` retries a transaction the server aborted for a deadlock
or serialisation failure and turns psycopg's exceptions into the owning subsystem's own
error classes, which each store passes in.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

import psycopg
from psycopg.conninfo import conninfo_to_dict
from psycopg_pool import AsyncConnectionPool, PoolClosed, PoolTimeout

from fluent_ai.errors import redact_url

__all__ = ["Conn", "PostgresPool"]

T = TypeVar("T")
Conn = psycopg.AsyncConnection[Any]
#: Attempts of a transaction the server aborted for a deadlock or serialisation failure.
_ATTEMPTS = 4


class PostgresPool:
    """A pool of connections to one database, opened (and migrated) on demand.

    ``kind`` names the subsystem in messages ("memory", "chat"); ``migrate`` runs once on
    a dedicated connection before the pool opens. Bad arguments raise ``invalid_error``,
    server failures ``store_error``, calls on a closed pool ``closed_error``, and, when
    given, a query the full-text parser rejects raises ``query_error``.
    """

    def __init__(
        self,
        url: str,
        *,
        min_connections: int,
        max_connections: int,
        timeout: float,
        kind: str,
        configure: Callable[[Conn], Awaitable[None]],
        migrate: Callable[[Conn], Awaitable[None]],
        invalid_error: type[Exception],
        store_error: type[Exception],
        closed_error: type[Exception],
        query_error: type[Exception] | None = None,
    ) -> None:
        self._kind = kind
        self._configure = configure
        self._migrate_schema = migrate
        self._invalid = invalid_error
        self._failed = store_error
        self._closed = closed_error
        self._query = query_error
        if not isinstance(url, str) or not url.startswith(("postgresql://", "postgres://")):
            raise invalid_error(
                f"a PostgreSQL {kind} store needs a postgresql:// URL; got {redact_url(str(url))!r}"
            )
        try:
            conninfo_to_dict(url)
        except psycopg.ProgrammingError as exc:
            raise invalid_error(f"malformed PostgreSQL URL {redact_url(url)!r}: {exc}") from None
        self._min = self._check_int("min_connections", min_connections, 0, 1_000)
        self._max = self._check_int("max_connections", max_connections, 1, 1_000)
        if self._min > self._max:
            raise invalid_error("min_connections must not exceed max_connections")
        if isinstance(timeout, bool) or not isinstance(timeout, (int, float)) or timeout <= 0:
            raise invalid_error("timeout must be a positive number of seconds")
        self._url = url
        self._timeout = float(timeout)
        self._pool: AsyncConnectionPool[Conn] | None = None
        self._lock = asyncio.Lock()

    def _check_int(self, name: str, value: object, low: int, high: int) -> int:
        if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
            raise self._invalid(f"{name} must be an integer from {low} to {high}")
        return value

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
                configure=self._configure,
                check=AsyncConnectionPool.check_connection,
                timeout=self._timeout,
                name=f"fluent-ai-{self._kind}",
            )
            try:
                await pool.open(wait=True, timeout=self._timeout)
            except PoolTimeout as exc:
                await pool.close()
                raise self._failed(f"cannot connect to {self.url}: {exc}") from None
            self._pool = pool

    async def _migrate(self) -> None:
        try:
            conn = await psycopg.AsyncConnection.connect(
                self._url, autocommit=True, connect_timeout=max(1, round(self._timeout))
            )
        except psycopg.Error as exc:
            raise self._failed(f"cannot connect to {self.url}: {exc}") from None
        try:
            await self._migrate_schema(conn)
        except psycopg.Error as exc:
            raise self._failed(
                f"cannot prepare the {self._kind} schema at {self.url}: {exc}"
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
        where = f"the {self._kind} store at {self.url}"
        if pool is None:
            raise self._closed(f"{where} is not open: use `async with` or await open()")
        attempt = 0
        while True:
            attempt += 1
            try:
                async with pool.connection() as conn:
                    return await fn(conn, *args)
            except (psycopg.errors.DeadlockDetected, psycopg.errors.SerializationFailure):
                if attempt >= _ATTEMPTS:
                    raise self._failed(
                        f"{where}: the transaction kept conflicting with other writers "
                        f"({attempt} attempts); nothing was changed"
                    ) from None
            except PoolClosed:
                raise self._closed(f"{where} was closed during the call") from None
            except PoolTimeout as exc:
                raise self._failed(f"{where}: {exc}") from None
            except psycopg.errors.SyntaxError as exc:
                if self._query is None:
                    raise self._failed(f"{where}: {_message(exc)}") from exc
                raise self._query(
                    f"the full-text index rejected the query: {_message(exc)}"
                ) from None
            except (psycopg.DataError, UnicodeEncodeError) as exc:
                raise self._invalid(
                    f"PostgreSQL cannot store this value: {_message(exc)}; nothing was changed"
                ) from None
            except psycopg.Error as exc:
                raise self._failed(f"{where}: {_message(exc)}") from exc


def _message(exc: BaseException) -> str:
    """The server's primary message when there is one (no SQL context, no parameters)."""
    if isinstance(exc, psycopg.Error) and exc.diag.message_primary:
        return exc.diag.message_primary
    return str(exc).splitlines()[0] if str(exc) else type(exc).__name__
