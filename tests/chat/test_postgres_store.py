"""The chat store contract on PostgreSQL (pgserver's PostgreSQL 16 + pgvector, see
``tests/memory/pg.py``), plus what only this backend has."""

from __future__ import annotations

import functools

import psycopg
import pytest

from fluent_ai.chat.store import ChatSchemaVersionError, InvalidChatDataError
from fluent_ai.chat.stores.postgres import PostgresChatStore
from fluent_ai.chat.types import ConversationRecord
from tests.chat.contract import ChatStoreContract
from tests.chat.contract_support import StoreFactory, msg
from tests.memory.pg import pg_server_url, pg_url

__all__ = ["pg_server_url", "pg_url"]


class TestPostgresStore(ChatStoreContract):
    @pytest.fixture
    def store_factory(self, pg_url: str) -> StoreFactory:
        return functools.partial(PostgresChatStore, pg_url)


async def test_newer_schema_is_refused(pg_url: str) -> None:
    async with PostgresChatStore(pg_url) as store:
        assert store.dialect == "postgres"
    async with await psycopg.AsyncConnection.connect(pg_url, autocommit=True) as conn:
        await conn.execute("INSERT INTO chat_schema_version (version) VALUES (99)")
    with pytest.raises(ChatSchemaVersionError, match="99"):
        await PostgresChatStore(pg_url).open()


async def test_two_stores_opening_a_new_database_at_once_migrate_once(pg_url: str) -> None:
    first, second = PostgresChatStore(pg_url), PostgresChatStore(pg_url)
    import asyncio

    await asyncio.gather(first.open(), second.open())
    try:
        await first.create_conversation(ConversationRecord(id="c"))
        assert (await second.get_conversation("c")).id == "c"
    finally:
        await first.close()
        await second.close()


async def test_stemming_matches_the_sqlite_porter_tokenizer(pg_url: str) -> None:
    async with PostgresChatStore(pg_url) as store:
        await store.create_conversation(ConversationRecord(id="c"))
        await store.append("c", None, [msg("c", "Who is running the connections?", id="m")])
        for query in ("run", "runs", "connection", "who", "connected"):
            assert [h.id for h in await store.search_text(query)] == ["m"], query
        assert await store.vocabulary("conn") == ["connect"]


def test_bad_urls_are_refused() -> None:
    for url in ("mysql://x", "postgresql://host:notaport/db?=", 42):
        with pytest.raises(InvalidChatDataError):
            PostgresChatStore(url)  # type: ignore[arg-type]
