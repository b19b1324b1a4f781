"""The clients compared in ``client_overhead.py``, each behind the same two calls.

A client is built by ``make_client(name, base_url)`` and offers ``complete()`` (one
non-streamed answer, its text) and ``stream()`` (the streamed answer as text deltas), each
doing what an application would do with that library: the answer's text, read the way the
library's documentation shows. Every module is imported inside its builder, so this file
loads in either virtual environment (fluent-ai and raw httpx in ``.venv``; the peers in
``.bench-venv``).

- ``httpx``: the baseline. One ``httpx.AsyncClient`` (100 connections, 100 kept alive),
  ``response.json()``; streams read with ``aiter_lines`` and ``json.loads`` per event.
- ``httpx2``: the same code on ``httpx2`` (the client the openai SDK is built on now), to
  show how much of a difference is the HTTP library's.
- ``fluent-ai``: the public API, ``FluentAI.agent(...).model(OpenAICompatibleProvider(...))``,
  one fresh ``agent.conversation()`` per request (so the history does not grow).
- ``fluent-ai-provider``: ``OpenAICompatibleProvider.complete/stream`` directly, to tell
  the agent layer's cost from the transport's.
- ``openai``: ``AsyncOpenAI().chat.completions.create``.
- ``litellm``: ``litellm.acompletion(model="openai/bench", api_base=...)``.
- ``pydantic-ai``: ``Agent(OpenAIChatModel(...)).run`` / ``run_stream`` +
  ``stream_text(delta=True, debounce_by=None)`` (every chunk, no batching).
"""

from __future__ import annotations

import importlib
import json
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from typing import Any

PROMPT = "Say hello."
KEY = "sk-bench"
VENV = {
    "httpx": ".venv",
    "httpx2": ".venv",
    "fluent-ai": ".venv",
    "fluent-ai-provider": ".venv",
    "openai": ".bench-venv",
    "litellm": ".bench-venv",
    "pydantic-ai": ".bench-venv",
}


@dataclass
class Client:
    """One library's way to ask for a whole answer and for a streamed one."""

    complete: Callable[[], Awaitable[str]]
    stream: Callable[[], AsyncIterator[str]]
    aclose: Callable[[], Awaitable[None]]


async def _nothing() -> None:
    return None


def _httpx(base_url: str, module: str) -> Client:
    httpx: Any = importlib.import_module(module)

    client = httpx.AsyncClient(
        base_url=base_url,
        headers={"authorization": f"Bearer {KEY}"},
        limits=httpx.Limits(max_connections=100, max_keepalive_connections=100),
        timeout=30,
    )
    messages = [{"role": "user", "content": PROMPT}]

    async def complete() -> str:
        response = await client.post(
            "/chat/completions", json={"model": "bench", "messages": messages}
        )
        response.raise_for_status()
        return str(response.json()["choices"][0]["message"]["content"])

    async def stream() -> AsyncIterator[str]:
        body = {
            "model": "bench",
            "messages": messages,
            "stream": True,
            "stream_options": {"include_usage": True},
        }
        async with client.stream("POST", "/chat/completions", json=body) as response:
            response.raise_for_status()
            async for line in response.aiter_lines():
                if not line.startswith("data: ") or line == "data: [DONE]":
                    continue
                choices = json.loads(line[6:])["choices"]
                if choices and (text := choices[0]["delta"].get("content")):
                    yield text

    return Client(complete, stream, client.aclose)


def _fluent(base_url: str, *, agent_layer: bool) -> Client:
    from fluent_ai import ChatRequest, FluentAI, Message, OpenAICompatibleProvider, TextDelta

    provider = OpenAICompatibleProvider(name="bench", base_url=base_url, api_key=KEY, model="bench")
    if not agent_layer:
        request = ChatRequest(model="bench", messages=(Message.user(PROMPT),))

        async def provider_complete() -> str:
            return (await provider.complete(request)).text

        async def provider_stream() -> AsyncIterator[str]:
            async for chunk in provider.stream(request):
                if isinstance(chunk, TextDelta):
                    yield chunk.text

        return Client(provider_complete, provider_stream, FluentAI.aclose)

    whole = FluentAI.agent("bench").model(provider).streaming(False).build()
    streamed = FluentAI.agent("bench").model(provider).build()

    async def complete() -> str:
        return await whole.conversation().chat(PROMPT).text()

    async def stream() -> AsyncIterator[str]:
        async for chunk in streamed.conversation().chat(PROMPT):
            if isinstance(chunk, TextDelta):
                yield chunk.text

    return Client(complete, stream, FluentAI.aclose)


def _openai(base_url: str) -> Client:
    from openai import AsyncOpenAI

    client = AsyncOpenAI(base_url=base_url, api_key=KEY)
    messages: Any = [{"role": "user", "content": PROMPT}]

    async def complete() -> str:
        answer = await client.chat.completions.create(model="bench", messages=messages)
        return answer.choices[0].message.content or ""

    async def stream() -> AsyncIterator[str]:
        chunks = await client.chat.completions.create(
            model="bench", messages=messages, stream=True, stream_options={"include_usage": True}
        )
        async for chunk in chunks:
            if chunk.choices and (text := chunk.choices[0].delta.content):
                yield text

    return Client(complete, stream, client.close)


def _litellm(base_url: str) -> Client:
    import litellm

    messages = [{"role": "user", "content": PROMPT}]
    options: dict[str, Any] = {"model": "openai/bench", "api_base": base_url, "api_key": KEY}

    async def complete() -> str:
        answer: Any = await litellm.acompletion(messages=messages, **options)
        return str(answer.choices[0].message.content)

    async def stream() -> AsyncIterator[str]:
        chunks: Any = await litellm.acompletion(
            messages=messages, stream=True, stream_options={"include_usage": True}, **options
        )
        async for chunk in chunks:
            if chunk.choices and (text := chunk.choices[0].delta.content):
                yield text

    return Client(complete, stream, _nothing)


def _pydantic_ai(base_url: str) -> Client:
    from pydantic_ai import Agent
    from pydantic_ai.models.openai import OpenAIChatModel
    from pydantic_ai.providers.openai import OpenAIProvider

    agent = Agent(OpenAIChatModel("bench", provider=OpenAIProvider(base_url=base_url, api_key=KEY)))

    async def complete() -> str:
        return str((await agent.run(PROMPT)).output)

    async def stream() -> AsyncIterator[str]:
        async with agent.run_stream(PROMPT) as result:
            async for text in result.stream_text(delta=True, debounce_by=None):
                yield text

    return Client(complete, stream, _nothing)


def make_client(name: str, base_url: str) -> Client:
    """Build client ``name`` (a key of ``VENV``) against ``base_url``."""
    if name in ("httpx", "httpx2"):
        return _httpx(base_url, name)
    if name in ("fluent-ai", "fluent-ai-provider"):
        return _fluent(base_url, agent_layer=name == "fluent-ai")
    if name == "openai":
        return _openai(base_url)
    if name == "litellm":
        return _litellm(base_url)
    if name == "pydantic-ai":
        return _pydantic_ai(base_url)
    raise ValueError(f"unknown client {name!r}; known: {', '.join(VENV)}")
