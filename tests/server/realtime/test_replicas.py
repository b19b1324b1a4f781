"""Two replicas sharing rooms through the real Redis: events, members, one agent reply."""

from __future__ import annotations

import asyncio
import socket
from collections.abc import Sequence

import redis.asyncio

from fluent_ai import FluentAI
from fluent_ai.chat.stores.sqlite import SqliteChatStore
from fluent_ai.config import ServerSettings
from fluent_ai.providers.scripted import FunctionModel
from fluent_ai.server.realtime.agent_member import AgentFactory
from fluent_ai.types import ChatRequest, Message
from tests.server.realtime.conftest import MakeRealm
from tests.server.realtime.support import open_client
from tests.server.realtime.test_agent_member import agents_of


async def test_two_replicas_share_a_room(
    make_realm: MakeRealm,
    redis_url: str,
    prefix: str,
    store: SqliteChatStore,
    redis_client: redis.asyncio.Redis,
) -> None:
    calls: list[str] = []

    def answer(messages: Sequence[Message], request: ChatRequest) -> str:
        calls.append(messages[-1].text)
        return "One reply only"

    def agents() -> AgentFactory:
        return agents_of(echo=FluentAI.agent("echo").model(FunctionModel(answer)).build())

    settings = ServerSettings(typing_ttl=30)
    a = make_realm(redis_url=redis_url, prefix=prefix, agents=agents(), settings=settings)
    b = make_realm(redis_url=redis_url, prefix=prefix, agents=agents(), settings=settings)
    async with open_client(a.url, "alice-token") as alice, open_client(b.url, "bob-token") as bob:
        await alice.join("shared", agent="echo")
        joined = await bob.join("shared")
        assert joined["members"] == [
            {"user": "alice", "status": "online"},
            {"user": "bob", "status": "online"},
        ]
        assert joined["agent"] == "echo"
        await alice.expect("presence", user="bob", status="online")  # from replica B

        await alice.send(type="message", room="shared", text="hello from A", client_id="a1")
        on_b = await bob.expect("message", user="alice")
        assert on_b["text"] == "hello from A"
        assert on_b["client_id"] == "a1"
        await bob.send(type="message", room="shared", text="hello from B")
        assert (await alice.expect("message", user="bob"))["text"] == "hello from B"

        for client in (alice, bob):  # each message answered once, seen on both replicas
            for _ in range(2):
                await client.expect("agent_done", text="One reply only")
        assert len(calls) == 2
        assert "alice: hello from A" in calls  # A answered alice, with history up to her message
        calls.remove("alice: hello from A")
        assert calls[0].endswith("bob: hello from B")  # B answered bob (A's reply may be pending)

        await bob.send(type="typing", room="shared")
        assert (await alice.expect("typing", user="bob"))["typing"] is True
        await bob.send(type="presence", status="away")
        await alice.expect("presence", user="bob", status="away")

        await alice.send(type="rooms")
        assert (await alice.expect("rooms"))["rooms"] == [{"room": "shared", "members": 2}]
        await bob.send(type="ping")  # anything still in flight reaches bob before the pong
        await bob.expect("pong")
        starts = [e for e in bob.skipped if e["type"] == "agent_start"]
        assert len(starts) == 2  # not one per replica

    stored = await store.path("room:shared")
    speakers = [(m.role.value, m.metadata["user"]) for m in stored]
    assert speakers.count(("assistant", "agent:echo")) == 2

    a.live.stop()
    b.live.stop()  # clean shutdown withdraws every membership at once
    assert [key async for key in redis_client.scan_iter(match=f"{prefix}members:*")] == []


async def test_a_member_leaving_on_one_replica_is_seen_on_the_other(
    make_realm: MakeRealm, redis_url: str, prefix: str
) -> None:
    a = make_realm(redis_url=redis_url, prefix=prefix)
    b = make_realm(redis_url=redis_url, prefix=prefix)
    async with open_client(b.url, "bob-token") as bob:
        await bob.join("shared")
        async with open_client(a.url, "alice-token") as alice:
            await alice.join("shared")
            await bob.expect("presence", user="alice", status="online")
        await bob.expect("presence", user="alice", status="offline")
        await bob.send(type="members", room="shared")
        assert (await bob.expect("members"))["members"] == [{"user": "bob", "status": "online"}]
        await bob.send(type="rooms")
        assert (await bob.expect("rooms"))["rooms"] == [{"room": "shared", "members": 1}]


async def test_memberships_are_refreshed_while_the_replica_lives(
    make_realm: MakeRealm, redis_url: str, prefix: str, redis_client: redis.asyncio.Redis
) -> None:
    a = make_realm(redis_url=redis_url, prefix=prefix, member_ttl=0.3)
    b = make_realm(redis_url=redis_url, prefix=prefix, member_ttl=0.3)
    async with open_client(a.url, "alice-token") as alice, open_client(b.url, "bob-token") as bob:
        await alice.join("shared")
        for _ in range(10):  # ten times the records' lifetime: refreshed all along
            await asyncio.sleep(0.1)
            await bob.send(type="members", room="shared")
            assert (await bob.expect("members"))["members"] == [
                {"user": "alice", "status": "online"}
            ]


async def test_a_replica_without_redis_refuses_clients_clearly(make_realm: MakeRealm) -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    realm = make_realm(redis_url=f"redis://127.0.0.1:{port}/0")
    async with open_client(realm.url, "alice-token", ready=False) as alice:
        error = await alice.expect("error")
        assert error["code"] == "unavailable"
        assert (await alice.closed())[0] == 1011
