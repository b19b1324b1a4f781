"""Rooms in the chat store, on SQLite and PostgreSQL; replicas sharing PostgreSQL."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from fluent_ai.chat.open import open_chat_store
from fluent_ai.chat.store import ChatStore, MessageNotFoundError
from fluent_ai.server.realtime.persistence import ROOM_SESSION, RoomArchive, message_event
from fluent_ai.types import Usage
from tests.memory.pg import pg_server_url, pg_url
from tests.server.realtime.conftest import MakeRealm
from tests.server.realtime.support import open_client

__all__ = ["pg_server_url", "pg_url"]  # fixtures used here


@pytest.fixture(params=["sqlite", "postgres"])
def location(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    if request.param == "sqlite":
        return str(tmp_path / "history.db")
    url: str = request.getfixturevalue("pg_url")
    return url


@pytest.fixture
async def chat_store(location: str) -> AsyncIterator[ChatStore]:
    async with open_chat_store(location) as store:
        yield store


async def test_a_room_is_one_conversation_of_the_rooms_session(chat_store: ChatStore) -> None:
    archive = RoomArchive(chat_store)
    first = await archive.add_message("lab", "alice", "hello", client_id="c1")
    reply = await archive.add_reply(
        "lab", reply_id="r1", user="agent:echo", text="hi alice", usage=Usage(3, 2)
    )
    await archive.add_reply(
        "lab", reply_id="r2", user="agent:echo", text="", status="failed", error="boom"
    )
    last = await archive.add_message("lab", "bob", "bye")
    record = await chat_store.get_conversation("room:lab")
    assert (record.session, record.title) == (ROOM_SESSION, "#lab")
    assert reply.output_tokens == 2

    history = await archive.history("lab", limit=50)
    assert [m.id for m in history] == [first.id, "r1", last.id]  # the failed reply left out
    assert [m.id for m in await archive.history("lab", limit=1)] == [last.id]
    assert [m.id for m in await archive.history("lab", limit=50, before="r1")] == [first.id]
    assert [m.id for m in await archive.history("lab", limit=50, through="r1")] == [
        first.id,
        "r1",
    ]
    with pytest.raises(MessageNotFoundError):
        await archive.history("lab", limit=5, before="missing")
    assert await archive.history("empty", limit=5) == []

    event = message_event("lab", first)
    assert event["user"] == "alice"
    assert event["client_id"] == "c1"
    assert event["ts"].endswith("Z")

    assert await archive.agent("lab") is None
    await archive.set_agent("lab", "echo")
    assert await archive.agent("lab") == "echo"
    await archive.set_agent("lab", None)
    assert await archive.agent("lab") is None

    await chat_store.delete_conversation("room:lab")  # e.g. by an admin: the room starts over
    await archive.add_message("lab", "alice", "anyone?")
    assert [m.text for m in await archive.history("lab", limit=5)] == ["anyone?"]


async def test_replicas_share_postgresql_and_redis(
    make_realm: MakeRealm, pg_url: str, redis_url: str, prefix: str
) -> None:
    a = make_realm(db=pg_url, redis_url=redis_url, prefix=prefix)
    b = make_realm(db=pg_url, redis_url=redis_url, prefix=prefix)
    async with open_client(a.url, "alice-token") as alice, open_client(b.url, "bob-token") as bob:
        await alice.join("pg")
        await bob.join("pg")
        await alice.send(type="message", room="pg", text="stored once")
        assert (await bob.expect("message"))["text"] == "stored once"
    async with open_client(b.url, "carol-token") as carol:
        history = (await carol.join("pg"))["history"]
        assert [(m["user"], m["text"]) for m in history] == [("alice", "stored once")]
