"""The server's request handling never blocks its event loop (checked with blockbuster).

The app runs in the test's own loop (its lifespan entered by hand, requests through
``httpx.ASGITransport``) so that blockbuster sees every call our code makes on the loop.
"""

from __future__ import annotations

import asyncio

import httpx
import pytest
from blockbuster import BlockingError, blockbuster_ctx
from fastapi import FastAPI

from fluent_ai import FluentAI, ScriptedModel
from fluent_ai.config import Settings
from fluent_ai.server.app import create_app
from fluent_ai.server.ratelimit import InProcessLimiter
from tests.fakes.openai_server import Behaviour, FakeOpenAIServer
from tests.server.conftest import AGENT_SETTINGS, MODEL
from tests.server.live import TokenAuthenticator

AUTH = {"Authorization": "Bearer all-token"}


def _app() -> FastAPI:
    settings = Settings(agents=AGENT_SETTINGS, max_retries=0, server={"default_rpm": 100})
    limiter = InProcessLimiter(settings.server.default_rpm, settings.server.default_tpm)
    return create_app(settings, authenticator=TokenAuthenticator(), limiter=limiter)


async def test_requests_do_not_block(openai_env: FakeOpenAIServer) -> None:
    app = await asyncio.to_thread(_app)  # settings are read from disk: not on the loop
    tool_call = {
        "id": "call_1",
        "type": "function",
        "function": {"name": "add", "arguments": '{"a": 1, "b": 2}'},
    }
    openai_env.queue(
        Behaviour(text="plain"),
        Behaviour(text="streamed", chunk_delay=0.01),
        Behaviour(text="", tool_calls=[tool_call]),
        Behaviour(text="three"),
    )
    chat = {"model": MODEL, "messages": [{"role": "user", "content": "hi"}]}
    with blockbuster_ctx("fluent_ai"):
        with pytest.raises(BlockingError):  # the detector is armed
            FluentAI.agent("t").model(ScriptedModel("x")).build()  # reads settings from disk
        async with (
            app.router.lifespan_context(app),
            httpx.AsyncClient(
                transport=httpx.ASGITransport(app=app), base_url="http://server"
            ) as http,
        ):
            plain = await http.post("/v1/chat/completions", json=chat, headers=AUTH)
            streamed = await http.post(
                "/v1/chat/completions", json={**chat, "stream": True}, headers=AUTH
            )
            agent = await http.post(
                "/v1/chat/completions", json={**chat, "model": "agent:helper"}, headers=AUTH
            )
            models = await http.get("/v1/models", headers=AUTH)
            vectors = await http.post(
                "/v1/embeddings", json={"model": "local", "input": ["a text"]}, headers=AUTH
            )
            unknown = await http.post(
                "/v1/chat/completions", json={**chat, "model": "openai:gpt-4o-mnii"}, headers=AUTH
            )
            health = await http.get("/healthz")
            metrics = await http.get("/metrics")
    assert plain.json()["choices"][0]["message"]["content"] == "plain"
    assert "data: [DONE]" in streamed.text
    assert agent.json()["choices"][0]["message"]["content"] == "three"
    assert models.status_code == 200
    assert len(vectors.json()["data"][0]["embedding"]) == 384
    assert unknown.status_code == 404
    assert (health.status_code, metrics.status_code) == (200, 200)
