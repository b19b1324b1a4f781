"""Configured agents served as the models ``agent:NAME`` (``[agents.NAME]`` in the settings).

One :class:`~fluent_ai.agent.Agent` per name per process, built at its first request (in
a worker thread: building imports the agent's tool modules and reads files) and shared by
every request after it; each request is its own conversation, so they never see each
other's messages. The request's messages are the conversation so far and its last
message, which must be the user's, is the turn: the agent adds its system prompt and
recalled memories, runs its tools server-side and streams back only its text. A client
cannot send ``tools`` to an agent model: the agent's tools are the ones it was configured
with, and a tool call the client would have to answer could not be mixed into its turn.
"""

from __future__ import annotations

import asyncio
import difflib
from collections.abc import AsyncGenerator, Sequence
from typing import TYPE_CHECKING

from fluent_ai.errors import ConfigurationError, InvalidParameterError
from fluent_ai.models.resolver import UnknownModelError
from fluent_ai.server.errors import ServiceUnavailableError
from fluent_ai.types import (
    Chunk,
    ErrorChunk,
    Message,
    Role,
    ToolCallDelta,
    ToolError,
    ToolResult,
)

if TYPE_CHECKING:
    from fluent_ai.agent.agent import Agent
    from fluent_ai.config import AgentSettings, Settings
    from fluent_ai.runtime import Runtime
    from fluent_ai.streams import ChatStream

__all__ = ["AGENT_PREFIX", "AgentPool"]

AGENT_PREFIX = "agent:"


class AgentPool:
    """The agents of ``settings.agents``, built once each, closed by :meth:`aclose`."""

    def __init__(self, settings: Settings, runtime: Runtime) -> None:
        self._settings = settings
        self._runtime = runtime
        self._agents: dict[str, Agent] = {}
        self._locks: dict[str, asyncio.Lock] = {}

    @property
    def names(self) -> list[str]:
        return sorted(self._settings.agents)

    def settings_of(self, name: str) -> AgentSettings:
        """The agent's settings; :class:`UnknownModelError` (404) naming close names."""
        found = self._settings.agents.get(name)
        if found is None:
            close = difflib.get_close_matches(name, self.names, n=3, cutoff=0.6)
            specs = [f"{AGENT_PREFIX}{each}" for each in close]
            hint = f"; did you mean {' or '.join(specs)}?" if specs else ""
            known = ", ".join(f"{AGENT_PREFIX}{each}" for each in self.names) or "none"
            raise UnknownModelError(f"unknown agent {name!r}{hint} (agents here: {known})", specs)
        return found

    async def get(self, name: str) -> Agent:
        """The agent called ``name``, built at the first call."""
        self.settings_of(name)
        agent = self._agents.get(name)
        if agent is not None:
            return agent
        lock = self._locks.setdefault(name, asyncio.Lock())
        async with lock:
            agent = self._agents.get(name)
            if agent is None:
                agent = await asyncio.to_thread(self._build, name)
                self._agents[name] = agent
        return agent

    def _build(self, name: str) -> Agent:
        from fluent_ai.facade import FluentAI
        from fluent_ai.tools.registry import load_spec

        config = self.settings_of(name)
        try:
            builder = FluentAI.agent(name).model(config.model or self._runtime.default_model())
            if config.system:
                builder = builder.system_prompt(config.system)
            if config.tools:
                source = f"agents.{name}.tools"
                builder = builder.tools(*(load_spec(spec, source=source) for spec in config.tools))
            if config.memory:
                builder = builder.memory(name)
            if config.temperature is not None:
                builder = builder.temperature(config.temperature)
            if config.max_tokens is not None:
                builder = builder.max_tokens(config.max_tokens)
            builder = builder.max_tool_rounds(config.max_tool_rounds)
            return builder.build(self._runtime)
        except ConfigurationError as exc:
            raise ServiceUnavailableError(
                f"agent {name!r} cannot be built from the server's settings: {exc.message}",
                code="agent_unavailable",
            ) from exc

    async def turn(self, name: str, messages: Sequence[Message]) -> AsyncGenerator[Chunk, None]:
        """The agent's answer to ``messages``: text, usage and ``Done`` (tools stay inside).

        A failed turn raises its typed error instead of yielding an error chunk.
        """
        if not messages or messages[-1].role is not Role.USER:
            raise InvalidParameterError(
                "messages",
                f"{AGENT_PREFIX}{name} answers the last message, which must be a user message",
            )
        agent = await self.get(name)
        stream = agent.conversation(history=list(messages[:-1])).chat(messages[-1])
        return _visible(stream)

    async def aclose(self) -> None:
        """Finish the agents' memory writes and stop their MCP servers."""
        agents, self._agents = list(self._agents.values()), {}
        for agent in agents:
            await agent.aclose()


async def _visible(stream: ChatStream) -> AsyncGenerator[Chunk, None]:
    async with stream:
        async for chunk in stream:
            if isinstance(chunk, ErrorChunk):
                raise chunk.error
            if isinstance(chunk, ToolCallDelta | ToolResult | ToolError):
                continue
            yield chunk
