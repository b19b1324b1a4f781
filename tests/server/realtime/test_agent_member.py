"""An agent in a room: replies stream token by token to every member and are stored."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from typing import Any

from fluent_ai import FluentAI
from fluent_ai.agent.agent import Agent
from fluent_ai.chat.stores.sqlite import SqliteChatStore
from fluent_ai.errors import InvalidParameterError, RateLimitError
from fluent_ai.providers.scripted import FunctionModel, Reply, ScriptedModel
from fluent_ai.types import ChatRequest, Message
from tests.server.realtime.conftest import MakeRealm
from tests.server.realtime.support import Client, open_client


def agents_of(**table: Agent) -> Callable[[str], Awaitable[Agent]]:
    async def agents(spec: str) -> Agent:
        if spec not in table:
            raise InvalidParameterError("agent", f"no agent named {spec!r}")
        return table[spec]

    return agents


def echo(messages: Sequence[Message], request: ChatRequest) -> str:
    return f"You said: {messages[-1].text}"


async def _reply(client: Client) -> tuple[dict[str, Any], list[str], dict[str, Any]]:
    start = await client.expect("agent_start")
    deltas: list[str] = []
    while True:
        event = await client.expect_any("agent_delta", "agent_done", "agent_error")
        if event["type"] != "agent_delta":
            return start, deltas, event
        assert event["id"] == start["id"]
        deltas.append(event["text"])


async def test_the_agent_streams_its_reply_to_every_member(
    make_realm: MakeRealm, store: SqliteChatStore
) -> None:
    model = FunctionModel(echo)
    agent = FluentAI.agent("echo").model(model).build()
    realm = make_realm(agents=agents_of(echo=agent))
    async with (
        open_client(realm.url, "alice-token") as alice,
        open_client(realm.url, "bob-token") as bob,
    ):
        await bob.join("lab")
        joined = await alice.join("lab", agent="echo")
        assert joined["agent"] == "echo"
        assert await bob.expect("agent") == {"type": "agent", "room": "lab", "agent": "echo"}
        assert (await bob.join("lab"))["agent"] == "echo"

        await alice.send(type="message", room="lab", text="hello there")
        replies = [await _reply(alice), await _reply(bob)]
        for start, deltas, done in replies:
            assert start["user"] == "agent:echo"
            assert deltas == ["You ", "said: ", "alice: ", "hello ", "there"]
            assert done["type"] == "agent_done"
            assert done["text"] == "".join(deltas)
            assert done["usage"]["output_tokens"] == 5
        reply_id = replies[0][0]["id"]
        assert replies[1][0]["id"] == reply_id

        await bob.send(type="message", room="lab", text="and again")
        await _reply(alice)
        second = model.requests[-1].messages
        assert [(m.role.value, m.text) for m in second] == [
            ("user", "alice: hello there"),
            ("assistant", "You said: alice: hello there"),
            ("user", "bob: and again"),
        ]

    stored = await store.path("room:lab")
    assert [(m.role.value, m.metadata["user"]) for m in stored] == [
        ("user", "alice"),
        ("assistant", "agent:echo"),
        ("user", "bob"),
        ("assistant", "agent:echo"),
    ]
    assert stored[1].id == reply_id
    assert stored[1].text == "You said: alice: hello there"
    assert (await store.get_conversation("room:lab")).agent == "echo"

    async with open_client(realm.url, "carol-token") as carol:
        history = (await carol.join("lab"))["history"]
        assert history[1]["user"] == "agent:echo"
        assert history[1]["text"] == "You said: alice: hello there"


async def test_a_failed_reply_is_an_agent_error(
    make_realm: MakeRealm, store: SqliteChatStore
) -> None:
    failing = Reply(text="partial answer here", error=RateLimitError("slow down"), fail_after=2)
    agent = FluentAI.agent("flaky").model(ScriptedModel(failing)).build()
    realm = make_realm(agents=agents_of(flaky=agent))
    async with open_client(realm.url, "alice-token") as alice:
        await alice.join("lab", agent="flaky")
        await alice.send(type="message", room="lab", text="hi")
        start, deltas, end = await _reply(alice)
        assert deltas == ["partial ", "answer "]
        assert end == {
            "type": "agent_error",
            "room": "lab",
            "id": start["id"],
            "message": "slow down",
        }
        await alice.send(type="history", room="lab")
        history = await alice.expect("history")
        assert [m["user"] for m in history["messages"]] == ["alice"]  # failures are not history
    (failed,) = [m for m in await store.path("room:lab") if m.status == "failed"]
    assert failed.error == "slow down"


async def test_unknown_agents_and_servers_without_agents(make_realm: MakeRealm) -> None:
    with_agents = make_realm(agents=agents_of())
    without = make_realm()
    async with open_client(with_agents.url, "alice-token") as alice:
        await alice.send(type="join", room="lab", agent="nobody")
        error = await alice.expect("error")
        assert error["code"] == "unknown_agent"
        assert "nobody" in error["message"]
    async with open_client(without.url, "alice-token") as alice:
        await alice.send(type="join", room="lab", agent="echo")
        assert (await alice.expect("error"))["code"] == "agents_disabled"


async def test_an_empty_agent_removes_it(make_realm: MakeRealm) -> None:
    agent = FluentAI.agent("echo").model(FunctionModel(echo)).build()
    realm = make_realm(agents=agents_of(echo=agent))
    async with open_client(realm.url, "alice-token") as alice:
        await alice.join("lab", agent="echo")
        joined = await alice.join("lab", agent="")
        assert joined["agent"] is None
        await alice.expect("agent", agent=None)
        await alice.send(type="message", room="lab", text="anyone?")
        await alice.expect("message")
        await alice.send(type="ping")
        await alice.expect("pong")
        assert not [e for e in alice.skipped if e["type"].startswith("agent_")]
