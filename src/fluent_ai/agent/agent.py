"""Agents and their conversations: a turn renders the prompt, streams the model, keeps history.

History is updated only when a turn completes: a failed or cancelled turn leaves the
conversation exactly as it was, so the user can simply ask again.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterator, Sequence
from typing import TYPE_CHECKING, TypeVar

from pydantic import BaseModel

from fluent_ai._sync import run_sync
from fluent_ai.agent.builder import AgentConfig, HistoryItem, history_of
from fluent_ai.agent.conversation import Conversation, TurnHandler, UserInput, user_message
from fluent_ai.agent.facts import FACTS_PROMPT, Facts
from fluent_ai.agent.persistence import StoreHandle
from fluent_ai.agent.recollection import AgentMemory
from fluent_ai.agent.toolbox import Toolbox
from fluent_ai.engine import Engine, Target
from fluent_ai.errors import ConfigurationError, InvalidParameterError
from fluent_ai.providers.base import Provider
from fluent_ai.runtime import Runtime, get_runtime
from fluent_ai.streams import ChatStream
from fluent_ai.types import (
    ChatResult,
    Chunk,
    Message,
    Usage,
)

if TYPE_CHECKING:
    from fluent_ai.agent.extract import Mode
    from fluent_ai.agent.loop import AskUser, TurnCallback
    from fluent_ai.chat.store import ChatStore
    from fluent_ai.tools.tool import Tool
    from fluent_ai.transport.http import TransportConfig

__all__ = ["Agent", "Conversation", "TurnHandler", "UserInput"]

M = TypeVar("M", bound=BaseModel)


class Agent:
    """A configured assistant. ``chat`` talks in its default conversation."""

    def __init__(self, config: AgentConfig, runtime: Runtime | None = None) -> None:
        self.config = config
        self.runtime = runtime or get_runtime()
        self.engine: Engine = self.runtime.engine
        self.targets: tuple[Target, ...] = self._resolve()
        self._resolved = self.targets[0]
        self.usage = Usage()
        self.cost_usd = 0.0
        self._context: str | None = None if config.context else ""
        self._context_lock: asyncio.Lock | None = None
        self._toolbox = Toolbox(config)
        self._memory = AgentMemory(config.memory, config.name) if config.memory else None
        self._stores: dict[int | str | None, StoreHandle] = {}
        self._default = Conversation(self, config.history, primary=True)

    def _resolve(self) -> tuple[Target, ...]:
        """The chain of models: the chosen one, then the fallbacks."""
        transport = None
        if self.config.max_retries is not None or self.config.timeout is not None:
            transport = self.runtime.transport_config(
                max_retries=self.config.max_retries, timeout=self.config.timeout
            )
        if self.config.requires:
            first = self.runtime.resolve_capable(self.config.requires, transport=transport)
        else:
            first = self._target(self.config.model, transport)
        rest = tuple(self._target(spec, transport) for spec in self.config.fallback)
        return (first, *rest)

    def _target(self, model: str | Provider | None, transport: TransportConfig | None) -> Target:
        if isinstance(model, Provider):
            if not model.model_name:
                raise ConfigurationError(
                    f"the {type(model).__name__} given to .model() names no model: "
                    "construct it with model=..."
                )
            # A provider built by hand still gets its catalogue entry (prices, limits).
            info = self.runtime.registry.get(model.name, model.model_name)
            return Target(model, model.model_name, info)
        return self.runtime.resolve(model, transport=transport)

    async def context_text(self) -> str:
        """The context documents as system-prompt text, loaded once (at the first turn)."""
        if self._context is not None:
            return self._context
        if self._context_lock is None:
            self._context_lock = asyncio.Lock()
        async with self._context_lock:
            if self._context is None:
                from fluent_ai.agent.context import chunk_documents, load_sources, render_context

                documents = await load_sources(
                    self.config.context, allow_private_urls=self.config.allow_private_urls
                )
                info = self._resolved.info
                window = info.context_window if info and info.context_window else 8192
                chunks, left_out = chunk_documents(documents, budget_tokens=window // 2)
                self._context = render_context(chunks, left_out)
        return self._context

    def _account(self, result: ChatResult) -> None:
        """Add a finished turn's usage and cost to the agent's running totals."""
        self.usage = self.usage + result.usage
        if result.cost_usd is not None:
            self.cost_usd += result.cost_usd

    def __repr__(self) -> str:
        return f"Agent(name={self.config.name!r}, model={self.model!r})"

    @property
    def name(self) -> str:
        return self.config.name

    @property
    def model(self) -> str:
        """The resolved ``provider:model`` spec."""
        return self._resolved.spec

    @property
    def provider(self) -> Provider:
        return self._resolved.provider

    @property
    def fallback_models(self) -> tuple[str, ...]:
        """The ``provider:model`` specs tried after the first one, in order."""
        return tuple(t.spec for t in self.targets[1:])

    @property
    def history(self) -> tuple[Message, ...]:
        """The default conversation's messages so far."""
        return self._default.history

    @property
    def default_conversation(self) -> Conversation:
        """The conversation ``agent.chat`` talks in (its ``conversation_id`` once saved)."""
        return self._default

    def conversation(self, history: Sequence[HistoryItem] | None = None) -> Conversation:
        """A new, independent conversation (seeded with the builder's history by default)."""
        seed = self.config.history if history is None else tuple(history_of(history))
        return Conversation(self, seed)

    def chat(self, message: UserInput) -> ChatStream:
        """Send ``message`` in the default conversation; iterate or await the result."""
        return self._default.chat(message)

    def chat_sync(self, message: UserInput) -> str:
        """Blocking form of ``await agent.chat(message).text()``."""
        return self._default.chat_sync(message)

    def stream_sync(self, message: UserInput) -> Iterator[Chunk]:
        """Blocking iteration over the chunks of ``agent.chat(message)``."""
        return self._default.stream_sync(message)

    async def chat_loop(
        self,
        first: UserInput,
        on_turn: TurnCallback,
        *,
        ask_user: AskUser | None = None,
        max_turns: int | None = None,
    ) -> list[ChatResult]:
        """Drive a multi-turn exchange; see :func:`fluent_ai.agent.loop.run_chat_loop`."""
        return await self._default.chat_loop(first, on_turn, ask_user=ask_user, max_turns=max_turns)

    async def extract(
        self,
        schema: type[M],
        content: UserInput,
        *,
        retries: int = 2,
        mode: Mode | None = None,
    ) -> M:
        """``content`` turned into a validated ``schema`` object (see
        :mod:`fluent_ai.agent.extract`); the conversation's history is neither used nor
        changed. ``mode`` forces ``native``, ``tool`` or ``prompted``."""
        from fluent_ai.agent.extract import extract

        if not (isinstance(schema, type) and issubclass(schema, BaseModel)):
            raise InvalidParameterError("schema", f"must be a pydantic model class, got {schema!r}")
        if isinstance(retries, bool) or not isinstance(retries, int) or not 0 <= retries <= 10:
            raise InvalidParameterError("retries", "must be an integer from 0 to 10")
        base = Conversation(self, ())._request(user_message(content))
        return await extract(
            self.engine, self.targets, schema, base.messages, base, retries=retries, mode=mode
        )

    def extract_sync(
        self, schema: type[M], content: UserInput, *, retries: int = 2, mode: Mode | None = None
    ) -> M:
        """Blocking form of :meth:`extract`."""
        return run_sync(
            self.extract(schema, content, retries=retries, mode=mode),
            alternative="await agent.extract(...)",
        )

    async def tools(self) -> dict[str, Tool]:
        """The agent's tools by name; MCP servers are started (once) at the first call."""
        return await self._toolbox.get()

    @property
    def memory(self) -> AgentMemory | None:
        """The agent's long-term memory (``.memory(...)`` on the builder), if any."""
        return self._memory

    def history_store(self, location: str | ChatStore | None) -> StoreHandle:
        """The agent's shared handle on the chat store at ``location`` (``.persist``)."""
        key = location if location is None or isinstance(location, str) else id(location)
        handle = self._stores.get(key)
        if handle is None:
            handle = self._stores[key] = StoreHandle(location)
        return handle

    async def aclose(self) -> None:
        """Finish pending memory writes and stop the agent's MCP servers and memory store
        (they start again at the next turn)."""
        if self._memory is not None:
            await self._memory.aclose()
        for handle in list(self._stores.values()):
            await handle.aclose()
        await self._toolbox.aclose()

    async def _facts(self, exchange: str) -> BaseModel:
        """The lasting facts the model finds in one exchange (``.memory(facts=True)``)."""
        return await self.extract(Facts, f"{FACTS_PROMPT}\n\n{exchange}")

    def close_sync(self) -> None:
        """:meth:`aclose` for scripts that use the sync API."""
        run_sync(self.aclose(), alternative="await agent.aclose()")

    async def __aenter__(self) -> Agent:
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.aclose()

    def reset(self) -> None:
        """Start the default conversation again from the builder's history (a new stored
        conversation when the agent persists)."""
        self._default = Conversation(self, self.config.history)
