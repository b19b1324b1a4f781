"""The key store contract on PostgreSQL (pgserver, see ``tests/memory/pg.py``), and on the
machine's own PostgreSQL, which has no pgvector: the key store must not need it."""

from __future__ import annotations

import functools
import os
from collections.abc import AsyncIterator

import psycopg
import pytest
from blockbuster import blockbuster_ctx
from psycopg import sql

from fluent_ai.auth.api_keys import KeyRing
from fluent_ai.auth.key_store import InvalidKeyDataError, KeySchemaVersionError, KeyStoreError
from fluent_ai.auth.key_stores.postgres import PostgresKeyStore
from tests.auth.key_store_contract import KeyStoreContract, StoreFactory
from tests.memory.pg import database_url, pg_server_url, pg_url

__all__ = ["pg_server_url", "pg_url"]

#: The Debian PostgreSQL the machine runs (trust auth, no pgvector).
LOCAL_SERVER = os.environ.get(
    "FLUENT_AI_TEST_PLAIN_POSTGRES_URL", "postgresql://root@127.0.0.1/test"
)


class TestPostgresKeyStore(KeyStoreContract):
    @pytest.fixture
    def store_factory(self, pg_url: str) -> StoreFactory:
        return functools.partial(PostgresKeyStore, pg_url)


async def test_newer_schema_is_refused(pg_url: str) -> None:
    async with PostgresKeyStore(pg_url):
        pass
    async with await psycopg.AsyncConnection.connect(pg_url, autocommit=True) as conn:
        await conn.execute("INSERT INTO api_keys_schema_version (version) VALUES (99)")
    with pytest.raises(KeySchemaVersionError, match="99"):
        await PostgresKeyStore(pg_url).open()


def test_bad_urls_are_refused_without_echoing_credentials() -> None:
    for url in ("mysql://x", "postgresql://host:notaport/db?=", 42):
        with pytest.raises(InvalidKeyDataError):
            PostgresKeyStore(url)  # type: ignore[arg-type]
    with pytest.raises(InvalidKeyDataError) as caught:
        PostgresKeyStore("postgresql://u:hunter2@h/db", max_connections=0)
    assert "hunter2" not in str(caught.value)


async def test_unreachable_server_is_a_store_error_without_the_password() -> None:
    store = PostgresKeyStore("postgresql://u:hunter2@127.0.0.1:1/db", timeout=2)
    with pytest.raises(KeyStoreError, match="cannot connect") as caught:
        await store.open()
    assert "hunter2" not in str(caught.value)


@pytest.fixture
async def plain_pg_url() -> AsyncIterator[str]:
    """A fresh database on the machine's PostgreSQL (skipped when it is not running)."""
    name = f"fluent_ai_keys_{os.getpid()}"
    try:
        admin = await psycopg.AsyncConnection.connect(LOCAL_SERVER, autocommit=True)
    except psycopg.OperationalError:
        pytest.skip(f"no PostgreSQL at {LOCAL_SERVER}")
    async with admin:
        await admin.execute(
            sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name))
        )
        await admin.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    try:
        yield database_url(LOCAL_SERVER, name)
    finally:
        async with await psycopg.AsyncConnection.connect(LOCAL_SERVER, autocommit=True) as admin:
            await admin.execute(
                sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name))
            )


async def test_works_on_a_postgresql_without_pgvector(plain_pg_url: str) -> None:
    async with KeyRing(PostgresKeyStore(plain_pg_url)) as admin:
        issued = await admin.create("svc", scopes="chat,memory", tpm=1000)
        async with KeyRing(PostgresKeyStore(plain_pg_url)) as server:
            principal = await server.verify(issued.secret)
            assert principal.scopes == {"chat", "memory"}
            assert principal.tpm == 1000
        async with await psycopg.AsyncConnection.connect(plain_pg_url) as conn:
            cursor = await conn.execute("SELECT secret_hash FROM api_keys")
            assert await cursor.fetchall() == [(issued.record.secret_hash,)]


async def test_nothing_blocks_the_event_loop(pg_url: str) -> None:
    with blockbuster_ctx("fluent_ai"):
        async with KeyRing(PostgresKeyStore(pg_url)) as ring:
            issued = await ring.create("svc")
            assert (await ring.verify(issued.secret)).subject == "svc"
            await ring.revoke("svc")
