"""Realtime chat inside the server app: create_app with the realtime part and router."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from fluent_ai.config import AgentSettings, Settings
from fluent_ai.server.app import create_app
from fluent_ai.server.ratelimit import InProcessLimiter
from fluent_ai.server.realtime import router, start_part
from tests.fakes.openai_server import Behaviour, FakeOpenAIServer
from tests.server.live import LiveServer, TokenAuthenticator, caller, serve
from tests.server.realtime.support import TOKENS, open_client

MODEL = "openai:gpt-4o-mini"


@pytest.fixture
def app_server(openai_env: FakeOpenAIServer, tmp_path: Path) -> Iterator[LiveServer]:
    settings = Settings(
        history_store=str(tmp_path / "history.db"),
        agents={"helper": AgentSettings(model=MODEL, system="You help the room.")},
        max_retries=0,
    )
    tokens = {**TOKENS, "limited-token": caller("dave", "chat", rpm=1)}
    app = create_app(
        settings,
        authenticator=TokenAuthenticator(tokens),
        limiter=InProcessLimiter(None, None),
        extra_routers=[router],
        parts={"realtime": start_part},
    )
    with serve(app) as live:
        yield live


def _url(live: LiveServer) -> str:
    return f"ws://127.0.0.1:{live.port}/v1/realtime"


async def test_a_configured_agent_answers_in_a_room(
    app_server: LiveServer, openai_env: FakeOpenAIServer
) -> None:
    openai_env.queue(Behaviour(text="Happy to help, alice."))
    async with open_client(_url(app_server), "alice-token", header=False) as alice:
        joined = await alice.join("help", agent="helper")
        assert joined["agent"] == "helper"
        await alice.send(type="message", room="help", text="can you help?")
        done = await alice.expect("agent_done")
        assert done["text"] == "Happy to help, alice."
        sent = openai_env.requests[-1].body["messages"]
        assert sent[0] == {"role": "system", "content": "You help the room."}
        assert sent[-1] == {"role": "user", "content": "alice: can you help?"}


async def test_a_model_spec_can_be_the_agent_and_typos_are_named(
    app_server: LiveServer, openai_env: FakeOpenAIServer
) -> None:
    openai_env.queue(Behaviour(text="Plain model here."))
    async with open_client(_url(app_server), "bob-token") as bob:
        await bob.join("plain", agent=MODEL)
        await bob.send(type="message", room="plain", text="hi")
        start = await bob.expect("agent_start")
        assert start["user"] == f"agent:{MODEL}"
        assert (await bob.expect("agent_done"))["text"] == "Plain model here."

        await bob.send(type="join", room="typo", agent="helpr")
        error = await bob.expect("error")
        assert error["code"] == "unknown_agent"


async def test_agent_replies_count_against_the_senders_rate_limit(
    app_server: LiveServer, openai_env: FakeOpenAIServer
) -> None:
    async with open_client(_url(app_server), "limited-token") as dave:
        await dave.join("help", agent="helper")
        await dave.send(type="message", room="help", text="one")
        await dave.expect("agent_done")
        await dave.send(type="message", room="help", text="two")
        error = await dave.expect("agent_error")
        assert "rate limit" in error["message"]
        assert len(openai_env.requests) == 1
