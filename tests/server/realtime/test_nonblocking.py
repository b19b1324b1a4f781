"""The realtime service never blocks its event loop (checked with blockbuster)."""

from __future__ import annotations

from blockbuster import blockbuster_ctx

from fluent_ai import FluentAI
from fluent_ai.providers.scripted import FunctionModel
from tests.server.realtime.conftest import MakeRealm
from tests.server.realtime.support import open_client
from tests.server.realtime.test_agent_member import agents_of, echo


async def test_a_room_session_does_not_block(
    make_realm: MakeRealm, redis_url: str, prefix: str
) -> None:
    agent = FluentAI.agent("echo").model(FunctionModel(echo)).build()  # reads settings first
    realm = make_realm(agents=agents_of(echo=agent), redis_url=redis_url, prefix=prefix)
    with blockbuster_ctx("fluent_ai"):
        async with (
            open_client(realm.url, "alice-token", header=False) as alice,
            open_client(realm.url, "bob-token") as bob,
        ):
            await alice.join("lab", agent="echo")
            await bob.join("lab")
            await alice.send(type="typing", room="lab")
            await alice.send(type="message", room="lab", text="hello")
            await bob.expect("agent_done")
            await bob.send(type="history", room="lab", limit=5)
            assert len((await bob.expect("history"))["messages"]) == 2
            await bob.send(type="presence", status="away")
            await bob.send(type="rooms")
            await bob.expect("rooms")
            await bob.send(type="leave", room="lab")
            await alice.expect("presence", user="bob", status="offline")
