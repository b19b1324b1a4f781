"""Fixtures of the server tests: a live app on loopback over the fake OpenAI upstream."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import ExitStack
from typing import Any

import openai
import pytest

from fluent_ai.config import Settings
from fluent_ai.server.app import create_app
from fluent_ai.server.ratelimit import InProcessLimiter
from tests.fakes.openai_server import FakeOpenAIServer
from tests.server.live import LiveServer, TokenAuthenticator, serve

MODEL = "openai:gpt-4o-mini"
AGENT_SETTINGS: dict[str, Any] = {
    "helper": {
        "model": MODEL,
        "system": "You are the helper agent.",
        "tools": ["tests.tools.served_tools:MATH"],
    },
    "plain": {"model": MODEL, "description": "No tools."},
}

MakeServer = Callable[..., LiveServer]


@pytest.fixture
def make_server(openai_env: FakeOpenAIServer) -> Iterator[MakeServer]:
    """Start apps with the given settings (``server`` values, top-level fields); each is
    stopped at the end of the test. Upstream retries are off unless asked for."""
    stack = ExitStack()

    def make(*, graceful: float | None = None, **fields: Any) -> LiveServer:
        fields.setdefault("agents", AGENT_SETTINGS)
        fields.setdefault("max_retries", 0)
        settings = Settings(**fields)
        app = create_app(
            settings,
            authenticator=TokenAuthenticator(),
            limiter=InProcessLimiter(settings.server.default_rpm, settings.server.default_tpm),
        )
        return stack.enter_context(serve(app, graceful=graceful))

    with stack:
        yield make


@pytest.fixture
def server(make_server: MakeServer) -> LiveServer:
    return make_server()


@pytest.fixture
def client(server: LiveServer) -> Iterator[openai.OpenAI]:
    """The official SDK, as a user would point it at us (a key with chat + embeddings)."""
    with openai.OpenAI(base_url=f"{server.url}/v1", api_key="all-token", max_retries=0) as sdk:
        yield sdk
