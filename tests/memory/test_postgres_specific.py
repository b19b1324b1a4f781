"""What only the PostgreSQL store has: migrations, the pool, HNSW indexes, tsvector ranking.

The shared behaviour is in the contract suite (``test_postgres_store.py``).
"""

from __future__ import annotations

import asyncio
import socket
from collections.abc import AsyncIterator
from datetime import UTC, datetime

import numpy as np
import psycopg
import pytest
from blockbuster import blockbuster_ctx

from fluent_ai.memory import (
    InvalidMemoryError,
    Memory,
    MemoryFilter,
    MemoryStoreError,
    SchemaVersionError,
)
from fluent_ai.memory.stores.postgres import PostgresMemoryStore
from fluent_ai.memory.stores.postgres_schema import SCHEMA_VERSION, index_name
from tests.memory.contract_processes import MODEL, vector_for
from tests.memory.pg import pg_server_url, pg_url

__all__ = ["pg_server_url", "pg_url"]


@pytest.fixture
async def store(pg_url: str) -> AsyncIterator[PostgresMemoryStore]:
    async with PostgresMemoryStore(pg_url) as opened:
        yield opened


async def scalar(url: str, query: str, *params: object) -> object:
    async with await psycopg.AsyncConnection.connect(url, autocommit=True) as conn:
        row = await (await conn.execute(query, params or None)).fetchone()
        return None if row is None else row[0]


# -- migrations ------------------------------------------------------------------------


async def test_processes_opening_a_new_database_at_once_migrate_it_once(pg_url: str) -> None:
    stores = [PostgresMemoryStore(pg_url) for _ in range(4)]
    await asyncio.gather(*(s.open() for s in stores))
    try:
        await stores[0].add([Memory(id="a", content="hello", embedding=vector_for(1))], model=MODEL)
        assert [m.id for m in await stores[3].get(["a"])] == ["a"]
    finally:
        await asyncio.gather(*(s.close() for s in stores))
    versions = await scalar(pg_url, "SELECT array_agg(version) FROM memory_schema_version")
    assert versions == list(range(1, SCHEMA_VERSION + 1))
    async with PostgresMemoryStore(pg_url) as again:  # reopening changes nothing
        assert await again.count("default") == 1


async def test_a_newer_schema_is_refused(pg_url: str) -> None:
    async with PostgresMemoryStore(pg_url):
        pass
    await scalar(pg_url, "INSERT INTO memory_schema_version (version) VALUES (99) RETURNING 1")
    with pytest.raises(SchemaVersionError, match="99"):
        await PostgresMemoryStore(pg_url).open()


# -- vector indexes --------------------------------------------------------------------


async def test_each_namespace_gets_its_own_hnsw_index_of_its_dimension(
    store: PostgresMemoryStore, pg_url: str
) -> None:
    await store.add([Memory(namespace="small", content="a", embedding=np.ones(3))], model="m3")
    await store.add(
        [Memory(id=f"m{n}", content="b", embedding=vector_for(n)) for n in range(5)], model=MODEL
    )
    for namespace, dims in (("small", 3), ("default", 16)):
        definition = await scalar(
            pg_url, "SELECT indexdef FROM pg_indexes WHERE indexname = %s", index_name(namespace)
        )
        assert isinstance(definition, str)
        assert "USING hnsw" in definition
        assert f"vector({dims})" in definition
        assert "vector_cosine_ops" in definition
        assert f"'{namespace}'" in definition


async def test_searches_use_the_hnsw_index(pg_url: str) -> None:
    async with PostgresMemoryStore(pg_url) as store:
        await store.add(
            [Memory(id=f"m{n}", content="x", embedding=vector_for(n)) for n in range(300)],
            model=MODEL,
        )
        hits = await store.vector_search("default", vector_for(7), 5)
        assert hits[0].id == "m7"
        await store.vector_search("default", vector_for(8), 5, exact=True)
    scans: object = 0
    for _ in range(50):  # backends publish their statistics as they exit
        scans = await scalar(
            pg_url,
            "SELECT idx_scan FROM pg_stat_user_indexes WHERE indexrelname = %s",
            index_name("default"),
        )
        if scans:
            break
        await asyncio.sleep(0.1)
    assert scans == 1, "one approximate search, and the exact one scanned the table"


async def test_approximate_and_exact_agree_and_k_above_ef_search_is_complete(
    store: PostgresMemoryStore,
) -> None:
    await store.add(
        [Memory(id=f"m{n}", content="x", embedding=vector_for(n)) for n in range(1_500)],
        model=MODEL,
    )
    query = vector_for(42)
    approximate = await store.vector_search("default", query, 10)
    exact = await store.vector_search("default", query, 10, exact=True)
    assert approximate[0] == exact[0]
    assert approximate[0].id == "m42"
    assert len({h.id for h in approximate} & {h.id for h in exact}) >= 9
    exact_scores = {h.id: h.score for h in exact}
    for hit in approximate:
        if hit.id in exact_scores:
            assert hit.score == pytest.approx(exact_scores[hit.id], abs=1e-6)
    everything = await store.vector_search("default", query, 1_400)
    assert len(everything) == 1_400
    assert len({h.id for h in everything}) == 1_400


async def test_vectors_too_large_for_hnsw_are_searched_exactly(
    store: PostgresMemoryStore, pg_url: str
) -> None:
    rng = np.random.default_rng(5)
    wide = [
        Memory(id=f"w{n}", namespace="wide", content="w", embedding=rng.standard_normal(2_048))
        for n in range(20)
    ]
    await store.add(wide, model="wide-model")
    assert (
        await scalar(pg_url, "SELECT index_name FROM memory_spaces WHERE namespace = 'wide'")
        is None
    )
    target = wide[11].embedding
    assert target is not None
    hits = await store.vector_search("wide", target, 3)
    assert hits[0].id == "w11"
    assert hits[0].score == pytest.approx(1.0, abs=1e-6)


async def test_moving_a_memory_claims_the_new_namespace(
    store: PostgresMemoryStore, pg_url: str
) -> None:
    await store.add([Memory(id="a", content="wanderer", embedding=vector_for(1))], model=MODEL)
    (memory,) = await store.get(["a"])
    await store.update(memory.model_copy(update={"namespace": "elsewhere", "embedding": None}))
    assert await store.dimensions("elsewhere") == (MODEL, 16)
    assert [h.id for h in await store.vector_search("elsewhere", vector_for(1), 3)] == ["a"]
    assert await store.vector_search("default", vector_for(1), 3) == []
    assert (
        await scalar(
            pg_url, "SELECT count(*) FROM pg_indexes WHERE indexname = %s", index_name("elsewhere")
        )
        == 1
    )


# -- full text -------------------------------------------------------------------------


async def test_text_search_stems_keeps_common_words_and_matches_any_word(
    store: PostgresMemoryStore,
) -> None:
    await store.add(
        [
            Memory(id="run", content="She runs every morning"),
            Memory(id="who", content="The Who played loudly"),
            Memory(id="both", content="rust compiler errors and rust borrow checker"),
            Memory(id="one", content="the compiler was slow"),
        ]
    )
    assert [h.id for h in await store.text_search("default", "running")] == ["run"]
    assert [h.id for h in await store.text_search("default", "who")] == ["who"]
    hits = await store.text_search("default", "rust compiler linker")
    assert [h.id for h in hits] == ["both", "one"]
    assert hits[0].score > hits[1].score > 0


async def test_a_rarer_word_weighs_more(store: PostgresMemoryStore) -> None:
    common = [Memory(id=f"c{n}", content=f"tea note {n}") for n in range(20)]
    await store.add([*common, Memory(id="rare", content="oolong tasting")])
    await store.add([Memory(id="tea-only", content="tea tasting")])
    hits = await store.text_search("default", "oolong tea")
    assert hits[0].id == "rare", "the rare word outweighs the common one"


async def test_hostile_text_is_only_words(store: PostgresMemoryStore) -> None:
    await store.add(
        [
            Memory(id="quote", content="it's Bob's c:\\temp\\dir and a'b"),
            Memory(id="mail", content="write to ann@example.com about 1.2.3"),
        ]
    )
    assert [h.id for h in await store.text_search("default", "ann@example.com")] == ["mail"]
    assert [h.id for h in await store.text_search("default", "Bob's")] == ["quote"]
    for hostile in ["a'b", "c:\\temp", "!(&|<->):*", "x\x00y", "lone \ud800 surrogate", "''", "\\"]:
        await store.text_search("default", hostile)


# -- values ----------------------------------------------------------------------------


async def test_values_round_trip_whatever_the_session_time_zone(pg_url: str) -> None:
    tokyo = pg_url + ("&" if "?" in pg_url else "?") + "options=-c%20TimeZone%3DAsia/Tokyo"
    created = datetime(2024, 2, 29, 23, 59, 59, 999_999, tzinfo=UTC)
    original = Memory(
        id="v",
        content="ünïcödé ☕ \U0001f600",
        metadata={"big": 2**62, "float": 0.1, "list": [1, "two", None], "emoji": "☕"},
        created_at=created,
        embedding=np.array([1e-30, -3.5, 7e20], dtype=np.float32),
    )
    async with PostgresMemoryStore(tokyo) as store:
        await store.add([original], model=MODEL)
        (got,) = await store.get(["v"])
        assert got == original
        assert got.created_at.tzinfo is UTC
        assert await store.count("default", MemoryFilter(metadata={"big": 2**62})) == 1


async def test_nul_characters_are_refused_and_nothing_is_stored(store: PostgresMemoryStore) -> None:
    with pytest.raises(ValueError, match="NUL"):
        Memory(content="a\x00b")  # records refuse it for every store ...
    # ... and a record built without validation still cannot half-write a batch here.
    nul = Memory(id="nul", content="fine").model_copy(update={"content": "a\x00b"})
    with pytest.raises(InvalidMemoryError, match="nothing was changed"):
        await store.add([Memory(id="ok", content="fine"), nul])
    meta = Memory(id="meta", content="fine").model_copy(update={"metadata": {"k": "\x00"}})
    with pytest.raises(InvalidMemoryError):
        await store.add([meta])
    assert await store.count("default") == 0


# -- connections -----------------------------------------------------------------------


async def test_more_calls_than_connections_wait_their_turn(pg_url: str) -> None:
    async with PostgresMemoryStore(pg_url, max_connections=2) as store:
        await asyncio.gather(
            *(store.add([Memory(id=f"m{n}", content=f"item {n}")]) for n in range(40))
        )
        counts = await asyncio.gather(*(store.count("default") for _ in range(20)))
        assert counts == [40] * 20


async def test_connections_the_server_dropped_are_replaced(pg_url: str) -> None:
    async with PostgresMemoryStore(pg_url, min_connections=2) as store:
        await store.add([Memory(id="a", content="survivor")])
        await scalar(
            pg_url,
            "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity "
            "WHERE datname = current_database() AND pid <> pg_backend_pid()",
        )
        assert [m.id for m in await store.get(["a"])] == ["a"]


async def test_nothing_blocks_the_event_loop(pg_url: str) -> None:
    with blockbuster_ctx("fluent_ai"):
        async with PostgresMemoryStore(pg_url) as store:
            await store.add([Memory(id="a", content="calm", embedding=vector_for(1))], model=MODEL)
            assert [h.id for h in await store.vector_search("default", vector_for(1))] == ["a"]
            assert [h.id for h in await store.text_search("default", "calm")] == ["a"]
            await store.vacuum()


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


async def test_an_unreachable_server_is_a_clear_error_without_the_password() -> None:
    url = f"postgresql://ann:s3cret@127.0.0.1:{_free_port()}/memory"
    store = PostgresMemoryStore(url, timeout=2)
    assert "s3cret" not in repr(store)
    with pytest.raises(MemoryStoreError, match="cannot connect") as caught:
        await store.open()
    assert "s3cret" not in str(caught.value)


@pytest.mark.parametrize(
    ("url", "options"),
    [
        ("sqlite:///tmp/memory.db", {}),
        (42, {}),
        ("postgresql://host/db?bad", {}),
        ("postgresql://host/db", {"max_connections": 0}),
        ("postgresql://host/db", {"min_connections": 5, "max_connections": 2}),
        ("postgresql://host/db", {"ef_search": 5_000}),
        ("postgresql://host/db", {"ef_search": True}),
        ("postgresql://host/db", {"timeout": -1}),
    ],
)
def test_bad_configuration_is_refused(url: object, options: dict[str, object]) -> None:
    with pytest.raises(InvalidMemoryError):
        PostgresMemoryStore(url, **options)  # type: ignore[arg-type]
