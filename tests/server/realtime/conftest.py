"""Fixtures of the realtime tests: servers over a per-test SQLite chat store."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator, Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import redis
import redis.asyncio

from fluent_ai.chat.stores.sqlite import SqliteChatStore
from tests.server.realtime.support import Realm, realms

MakeRealm = Callable[..., Realm]


@pytest.fixture
def db(tmp_path: Path) -> Path:
    return tmp_path / "history.db"


@pytest.fixture
def make_realm(db: Path) -> Iterator[MakeRealm]:
    """``make_realm(**options)``: a realtime server on ``db`` (see ``support.realm``)."""
    with realms() as make:

        def start(**options: Any) -> Realm:
            return make(options.pop("db", db), **options)

        yield start


@pytest.fixture
async def store(db: Path) -> AsyncIterator[SqliteChatStore]:
    """The servers' chat store, opened from the test (as another process would)."""
    async with SqliteChatStore(db) as opened:
        yield opened


REDIS_URL = "redis://127.0.0.1:6379/0"


@pytest.fixture(scope="module")
def redis_url() -> str:
    """The local Redis (tests that need it are skipped when none answers)."""
    client = redis.Redis.from_url(REDIS_URL, socket_connect_timeout=1, socket_timeout=1)
    try:
        client.ping()
    except redis.RedisError:
        pytest.skip("no Redis on 127.0.0.1:6379")
    finally:
        client.close()
    return REDIS_URL


@pytest.fixture
async def redis_client(redis_url: str) -> AsyncIterator[redis.asyncio.Redis]:
    client = redis.asyncio.Redis.from_url(redis_url, decode_responses=True)
    try:
        yield client
    finally:
        await client.aclose()


@pytest.fixture
async def prefix(redis_client: redis.asyncio.Redis) -> AsyncIterator[str]:
    """A key and channel prefix no other test uses; its keys are deleted afterwards."""
    name = f"fluent-ai-test:{uuid.uuid4().hex}:rt:"
    yield name
    keys = [key async for key in redis_client.scan_iter(match=f"{name}*")]
    if keys:
        await redis_client.delete(*keys)
