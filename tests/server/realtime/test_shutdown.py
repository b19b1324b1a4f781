"""Shutting down: replies in flight may finish, then every client is closed with 1001."""

from __future__ import annotations

import asyncio

from fluent_ai import FluentAI
from fluent_ai.config import ServerSettings
from fluent_ai.providers.scripted import Reply, ScriptedModel
from tests.server.realtime.conftest import MakeRealm
from tests.server.realtime.support import open_client
from tests.server.realtime.test_agent_member import agents_of


async def test_aclose_closes_every_client_with_1001(make_realm: MakeRealm) -> None:
    realm = make_realm()
    async with (
        open_client(realm.url, "alice-token") as alice,
        open_client(realm.url, "bob-token") as bob,
    ):
        await alice.join("general")
        await bob.join("general")
        await alice.send(type="message", room="general", text="last words")
        await bob.expect("message", text="last words")
        await realm.run(realm.service.aclose())
        for client in (alice, bob):
            code, reason = await client.closed()
            assert code == 1001
            assert reason == "server shutting down"
        assert realm.service.connections == 0

    async with open_client(realm.url, "carol-token", ready=False) as late:
        assert (await late.closed())[0] == 1001


async def test_a_reply_in_flight_finishes_before_the_close(make_realm: MakeRealm) -> None:
    slow = Reply(text="a slow but complete answer", delay=0.05)
    agent = FluentAI.agent("slow").model(ScriptedModel(slow)).build()
    realm = make_realm(agents=agents_of(slow=agent), settings=ServerSettings(shutdown_grace=30))
    async with open_client(realm.url, "alice-token") as alice:
        await alice.join("lab", agent="slow")
        await alice.send(type="message", room="lab", text="take your time")
        await alice.expect("agent_start")
        closing = asyncio.ensure_future(realm.run(realm.service.aclose()))
        done = await alice.expect("agent_done")
        assert done["text"] == "a slow but complete answer"
        assert (await alice.closed())[0] == 1001
        await closing
