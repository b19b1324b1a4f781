"""The immutable fluent builder: every call checks its argument and returns a new builder.

A wrong value fails at the call that set it (``.temperature(7)`` raises
:class:`InvalidParameterError` naming ``temperature``), not later inside a request.
"""

from __future__ import annotations

import dataclasses
import os
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from fluent_ai.agent.arguments import (
    check_callable,
    check_integer,
    check_model,
    check_number,
)
from fluent_ai.agent.history_items import HistoryItem, history_of, to_message
from fluent_ai.agent.persistence import PersistSpec, persist_spec
from fluent_ai.agent.prompt import PromptTemplate
from fluent_ai.agent.recollection import MemorySpec, memory_spec
from fluent_ai.errors import ConfigurationError, InvalidParameterError
from fluent_ai.providers.base import Provider
from fluent_ai.streams import ChunkHandler, ErrorHandler
from fluent_ai.types import Message

if TYPE_CHECKING:
    from fluent_ai.agent.agent import Agent, TurnHandler
    from fluent_ai.agent.tool_loop import ToolResultHandler
    from fluent_ai.chat.store import ChatStore
    from fluent_ai.embeddings import Embedder
    from fluent_ai.memory.store import MemoryStore
    from fluent_ai.runtime import Runtime
    from fluent_ai.tools.tool import Tool, Toolset

__all__ = ["AgentBuilder", "AgentConfig", "HistoryItem", "MCPSpec", "history_of", "to_message"]


@dataclass(frozen=True, slots=True)
class MCPSpec:
    """An MCP server an agent starts at its first turn: a stdio command or an HTTP URL."""

    command: tuple[str, ...] = ()
    url: str | None = None
    headers: Mapping[str, str] = field(default_factory=dict)
    env: Mapping[str, str] = field(default_factory=dict)
    prefix: str = ""
    call_timeout: float | None = 30.0
    #: An ``[oauth.NAME]`` table whose bearer tokens an HTTP server gets.
    oauth: str | None = None


@dataclass(frozen=True, slots=True)
class AgentConfig:
    """Everything an agent was built with; immutable and safe to share."""

    name: str = "agent"
    model: str | Provider | None = None
    #: Models tried in order when the one before fails retryably before its first token.
    fallback: tuple[str | Provider, ...] = ()
    #: Capabilities the model must have (``model`` is then the cheapest configured one).
    requires: tuple[str, ...] = ()
    system: PromptTemplate | None = None
    variables: Mapping[str, Any] = field(default_factory=dict)
    temperature: float | None = None
    max_tokens: int | None = None
    top_p: float | None = None
    seed: int | None = None
    stop: tuple[str, ...] = ()
    history: tuple[Message, ...] = ()
    stream: bool = True
    max_retries: int | None = None
    timeout: float | None = None
    extra: Mapping[str, Any] = field(default_factory=dict)
    on_chunk: tuple[ChunkHandler, ...] = ()
    on_error: tuple[ErrorHandler, ...] = ()
    on_turn: tuple[TurnHandler, ...] = ()
    tools: tuple[Tool, ...] = ()
    mcp_servers: tuple[MCPSpec, ...] = ()
    context: tuple[str, ...] = ()
    allow_private_urls: bool = False
    max_tool_rounds: int = 10
    on_tool_result: tuple[ToolResultHandler, ...] = ()
    memory: MemorySpec | None = None
    persist: PersistSpec | None = None


@dataclass(frozen=True, slots=True)
class AgentBuilder:
    """Configure an agent step by step; :meth:`build` returns the :class:`Agent`."""

    config: AgentConfig = field(default_factory=AgentConfig)

    def _with(self, **changes: Any) -> AgentBuilder:
        return AgentBuilder(dataclasses.replace(self.config, **changes))

    def model(
        self,
        spec: str | Provider | None = None,
        *,
        fallback: Sequence[str | Provider] = (),
        requires: Sequence[str] = (),
    ) -> AgentBuilder:
        """The model: ``provider:model``, a catalogued name, an alias, or a Provider.

        ``fallback`` models take over, in order, when the one before fails with a
        retryable error (429, 5xx, timeout) or an open circuit before its first token.
        ``requires=["tools", "vision"]`` without a spec picks the cheapest configured
        model that has them.
        """
        if spec is None and not requires:
            raise InvalidParameterError("model", "give a model spec, or requires=[...]")
        if spec is not None and requires:
            raise InvalidParameterError("model", "give a model spec or requires=[...], not both")
        if isinstance(requires, str):
            raise InvalidParameterError("requires", "must be a list of capabilities")
        if isinstance(fallback, str | Provider):
            raise InvalidParameterError("fallback", "must be a list of model specs")
        from fluent_ai.models.resolver import check_capabilities

        try:
            check_capabilities(list(requires))
        except ConfigurationError as exc:
            raise InvalidParameterError("requires", exc.message) from None
        chain = tuple(check_model("fallback", item) for item in fallback)
        first = None if spec is None else check_model("model", spec)
        return self._with(model=first, fallback=chain, requires=tuple(requires))

    def system_prompt(self, template: str) -> AgentBuilder:
        """The system prompt; Jinja2 syntax (``{{ date }}``) is rendered at each turn."""
        return self._with(system=PromptTemplate(template))

    def variables(self, **values: Any) -> AgentBuilder:
        """Values for the system prompt's template variables (merged with earlier ones)."""
        return self._with(variables={**self.config.variables, **values})

    def temperature(self, value: float) -> AgentBuilder:
        return self._with(temperature=check_number("temperature", value, 0.0, 2.0))

    def max_tokens(self, value: int) -> AgentBuilder:
        return self._with(max_tokens=check_integer("max_tokens", value, 1, 1_000_000))

    def top_p(self, value: float) -> AgentBuilder:
        return self._with(top_p=check_number("top_p", value, 0.0, 1.0))

    def seed(self, value: int) -> AgentBuilder:
        return self._with(seed=check_integer("seed", value, 0))

    def stop(self, *sequences: str) -> AgentBuilder:
        """Stop generating at any of these strings (at most 4, as OpenAI allows)."""
        if not 1 <= len(sequences) <= 4 or not all(isinstance(s, str) and s for s in sequences):
            raise InvalidParameterError("stop", "give 1 to 4 non-empty strings")
        return self._with(stop=tuple(sequences))

    def conversation_history(self, *messages: HistoryItem) -> AgentBuilder:
        """Seed the conversation: Messages, ``("user", "hi")`` pairs or role/content dicts."""
        return self._with(history=self.config.history + tuple(to_message(m) for m in messages))

    def streaming(self, enabled: bool = True) -> AgentBuilder:
        """Ask the provider to stream (default) or to answer in one piece."""
        if not isinstance(enabled, bool):
            raise InvalidParameterError("streaming", "must be True or False")
        return self._with(stream=enabled)

    def max_retries(self, value: int) -> AgentBuilder:
        return self._with(max_retries=check_integer("max_retries", value, 0, 20))

    def timeout(self, seconds: float) -> AgentBuilder:
        """Seconds allowed between two reads from the provider."""
        return self._with(timeout=check_number("timeout", seconds, 0.001, 3600.0))

    def extra_body(self, **fields: Any) -> AgentBuilder:
        """Provider-specific request fields, sent as-is."""
        return self._with(extra={**self.config.extra, **fields})

    def on_chunk(self, handler: ChunkHandler) -> AgentBuilder:
        """Called with every chunk, in order, before it reaches the consumer."""
        return self._with(on_chunk=(*self.config.on_chunk, check_callable("on_chunk", handler)))

    def on_error(self, handler: ErrorHandler) -> AgentBuilder:
        """Called once with the typed error when a turn fails."""
        return self._with(on_error=(*self.config.on_error, check_callable("on_error", handler)))

    def tools(self, *items: Tool | Toolset | Callable[..., Any]) -> AgentBuilder:
        """Tools the model may call: ``@tool`` functions, plain typed functions, toolsets.

        Names must be unique across all of the agent's tools (a clash fails here).
        """
        if not items:
            raise InvalidParameterError("tools", "give at least one tool")
        from fluent_ai.tools.tool import collect_tools

        return self._with(tools=collect_tools((*self.config.tools, *items)))

    def context(
        self, *sources: str | os.PathLike[str], allow_private_urls: bool = False
    ) -> AgentBuilder:
        """Documents the model reads: files, globs (``docs/**/*.{md,txt}``), directories
        (respecting ``.gitignore``), git working trees, PDFs and http(s) URLs.

        They are loaded at the first turn, cut into chunks that fit half the model's
        context window, and given in the system prompt with their sources. URLs resolving
        to private, loopback or link-local addresses are refused unless
        ``allow_private_urls``.
        """
        from fluent_ai.agent.context import check_sources

        if not sources:
            raise InvalidParameterError("context", "give at least one source")
        if not isinstance(allow_private_urls, bool):
            raise InvalidParameterError("allow_private_urls", "must be True or False")
        return self._with(
            context=(*self.config.context, *check_sources(sources)),
            allow_private_urls=allow_private_urls or self.config.allow_private_urls,
        )

    def mcp_server(
        self,
        command: Sequence[str] | None = None,
        *,
        url: str | None = None,
        headers: Mapping[str, str] | None = None,
        env: Mapping[str, str] | None = None,
        prefix: str = "",
        timeout: float | None = 30.0,
        oauth: str | None = None,
    ) -> AgentBuilder:
        """An MCP server whose tools the agent may call: a stdio ``command`` or an HTTP
        ``url``. It is started at the agent's first turn and stopped by
        ``await agent.aclose()`` (or ``async with agent:``); ``prefix`` goes before its tool
        names when two servers share one; ``timeout`` bounds each tool call (seconds,
        ``None`` for no bound): a call past it is a tool error the model sees. ``oauth``
        names an ``[oauth.NAME]`` table whose tokens an HTTP server gets
        (``fluent-ai auth login NAME`` first for a browser login)."""
        if (command is None) == (url is None):
            raise InvalidParameterError("mcp_server", "give either command=[...] or url=...")
        if command is not None and (
            isinstance(command, str) or not command or not all(isinstance(w, str) for w in command)
        ):
            raise InvalidParameterError("mcp_server", "command must be a list of words")
        if url is not None and not url.startswith(("http://", "https://")):
            raise InvalidParameterError("mcp_server", f"url must be http(s), got {url!r}")
        if timeout is not None:
            timeout = check_number("timeout", timeout, 0.001, 86_400.0)
        if oauth is not None:
            from fluent_ai.auth.oauth_store import OAUTH_NAME

            if url is None:
                raise InvalidParameterError("oauth", "only an HTTP server (url=...) takes oauth")
            if not isinstance(oauth, str) or not OAUTH_NAME.match(oauth):
                raise InvalidParameterError("oauth", f"not an [oauth.NAME] table name: {oauth!r}")
        spec = MCPSpec(
            tuple(command or ()), url, dict(headers or {}), dict(env or {}), prefix, timeout, oauth
        )
        return self._with(mcp_servers=(*self.config.mcp_servers, spec))

    def memory(
        self,
        namespace: str = "default",
        *,
        store: str | Path | MemoryStore | None = None,
        embedder: str | Embedder | None = None,
        k: int = 5,
        budget_tokens: int = 800,
        min_score: float = 0.0,
        remember_turns: bool = True,
        facts: bool = False,
    ) -> AgentBuilder:
        """Long-term memory in ``namespace``: the ``k`` most relevant memories (within
        ``budget_tokens``) go into each turn's prompt; each exchange is remembered as an
        episode and, with ``facts=True``, the facts the model finds in it as semantic
        memories, in the background (``await agent.aclose()`` waits for them).

        ``store`` is a SQLite path or ``postgresql://`` URL (default: the
        ``memory_store`` setting, else ``memory.db`` under ``FLUENT_AI_HOME``); ``embedder``
        a spec or an :class:`~fluent_ai.embeddings.Embedder` (default: the
        ``embedding_model`` setting, the offline MiniLM model)."""
        spec = memory_spec(
            namespace,
            store=store,
            embedder=embedder,
            k=k,
            budget_tokens=budget_tokens,
            min_score=min_score,
            remember_turns=remember_turns,
            facts=facts,
        )
        return self._with(memory=spec)

    def persist(
        self,
        store: str | Path | ChatStore | None = None,
        *,
        conversation_id: str | None = None,
        continue_last: bool = False,
        session: str | None = None,
        tags: Sequence[str] = (),
        title: str | None = None,
    ) -> AgentBuilder:
        """Save every conversation of the agent in the chat store, turn by turn.

        ``store`` is a SQLite path or ``postgresql://`` URL (default: the ``history_store``
        setting, else ``history.db`` under ``FLUENT_AI_HOME``). ``conversation_id`` continues
        that conversation and ``continue_last`` the most recent one (of ``session``);
        otherwise a new one starts at the first turn, titled ``title`` (default: the first
        question) and tagged ``tags`` plus keywords of its first answers."""
        spec = persist_spec(
            store,
            conversation_id=conversation_id,
            continue_last=continue_last,
            session=session,
            tags=tags,
            title=title,
        )
        return self._with(persist=spec)

    def max_tool_rounds(self, value: int) -> AgentBuilder:
        """How many times per turn the model may call tools before the turn fails (10)."""
        return self._with(max_tool_rounds=check_integer("max_tool_rounds", value, 1, 100))

    def on_tool_result(self, handler: ToolResultHandler) -> AgentBuilder:
        """Called with each :class:`ToolResult` or :class:`ToolError`, as it happens."""
        handlers = (*self.config.on_tool_result, check_callable("on_tool_result", handler))
        return self._with(on_tool_result=handlers)

    def on_conversation_turn(self, handler: TurnHandler) -> AgentBuilder:
        """Called with ``(conversation, result)`` after each completed turn."""
        handlers = (*self.config.on_turn, check_callable("on_conversation_turn", handler))
        return self._with(on_turn=handlers)

    async def abuild(self, runtime: Runtime | None = None) -> Agent:
        """:meth:`build` from async code: settings files and model paths are read in a
        worker thread, so the event loop never waits on the disk."""
        import asyncio

        return await asyncio.to_thread(self.build, runtime)

    def build(self, runtime: Runtime | None = None) -> Agent:
        """Resolve the model and return the agent; fails if the template lacks a variable.

        The first build of a process reads settings (environment, config file); inside a
        running event loop prefer ``await builder.abuild()``.
        """
        from fluent_ai.agent.agent import Agent

        system = self.config.system
        if system is not None:
            missing = system.missing(self.config.variables)
            if missing:
                names = ", ".join(sorted(missing))
                raise InvalidParameterError(
                    "system_prompt",
                    f"no value for template variable(s) {names}; pass them with .variables(...)",
                )
        return Agent(self.config, runtime)
