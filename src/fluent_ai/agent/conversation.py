"""A conversation: a message history bound to an agent, where each ``chat`` is one turn.

History is updated only when a turn completes: a failed or cancelled turn leaves the
conversation exactly as it was, so the user can simply ask again. With ``.persist(...)``
each completed (or failed) turn is also written to the chat store before it counts.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator, Sequence
from contextlib import aclosing
from typing import TYPE_CHECKING

from fluent_ai._aio import resolve
from fluent_ai._sync import iterate_sync, run_sync
from fluent_ai.agent.persistence import ConversationLog, PersistSpec
from fluent_ai.agent.tool_loop import run_tool_turn
from fluent_ai.errors import FluentAIError, InvalidParameterError
from fluent_ai.streams import ChatStream
from fluent_ai.types import (
    ChatRequest,
    ChatResult,
    Chunk,
    ContentPart,
    ImagePart,
    Message,
    Role,
    TextPart,
    Usage,
)

if TYPE_CHECKING:
    from fluent_ai.agent.agent import Agent
    from fluent_ai.agent.loop import AskUser, TurnCallback

__all__ = ["Conversation", "TurnHandler", "UserInput", "user_message"]

TurnHandler = Callable[["Conversation", ChatResult], Awaitable[None] | None]
UserInput = str | Message | Sequence[ContentPart]

log = logging.getLogger("fluent_ai.agent")


def user_message(content: UserInput) -> Message:
    if isinstance(content, Message):
        return content
    if isinstance(content, str):
        return Message(Role.USER, content)
    if isinstance(content, Sequence):
        parts = tuple(p for p in content if isinstance(p, TextPart | ImagePart))
        if parts and len(parts) == len(content):
            return Message(Role.USER, parts)
    raise InvalidParameterError(
        "message", f"must be text, a Message or content parts, got {content!r:.80}"
    )


class Conversation:
    """A message history bound to an agent; each ``chat`` is one turn.

    ``persist`` saves this conversation under its own spec instead of the agent's, so a
    front end can continue another stored conversation (``conversation_id``), file new
    ones under another session, or start saving a chat begun with saving off, all
    without rebuilding the agent. Its ``conversation_id`` / ``continue_last`` are
    honoured as for the agent's default conversation.
    """

    def __init__(
        self,
        agent: Agent,
        history: Sequence[Message] = (),
        *,
        primary: bool = False,
        persist: PersistSpec | None = None,
    ) -> None:
        self.agent = agent
        self._messages: list[Message] = list(history)
        self.usage = Usage()
        self.cost_usd = 0.0
        self.log: ConversationLog | None = None
        spec = persist if persist is not None else agent.config.persist
        if spec is not None:
            self.log = ConversationLog(
                spec,
                agent.history_store(spec.store),
                agent=agent.name,
                model=agent.model,
                primary=primary or persist is not None,
            )

    @property
    def conversation_id(self) -> str | None:
        """The stored conversation's id (``None`` before its first saved turn, or when the
        agent does not persist)."""
        return self.log.conversation_id if self.log is not None else None

    async def load(self) -> None:
        """Load the stored history now (a continued conversation does it at its first turn)."""
        if self.log is not None:
            stored = await self.log.load()
            if stored is not None:
                self._messages = stored

    async def reload(self) -> None:
        """Read the history again: the stored path of the conversation's current branch.

        A front end calls it after forking or switching branches in the store, so the
        next turn continues on that branch. Nothing changes while the conversation is
        not stored (no turn saved yet, or not persisted).
        """
        if self.log is not None:
            await self.load()
            stored = await self.log.history()
            if stored is not None:
                self._messages = stored

    @property
    def history(self) -> tuple[Message, ...]:
        return tuple(self._messages)

    def chat(self, message: UserInput) -> ChatStream:
        user = user_message(message)
        agent = self.agent
        config = agent.config

        record: list[Message] = []

        async def source() -> AsyncIterator[Chunk]:
            await self.load()
            context = await agent.context_text()
            if agent._memory is not None:
                recalled = await agent._memory.recall_text(user.text)
                context = (
                    f"{context}\n\n{recalled}" if context and recalled else context or recalled
                )
            request = self._request(user, context)
            tools = await agent.tools()
            if not tools:
                chunks = agent.engine.run(agent.targets, request, stream=config.stream)
            else:
                chunks = run_tool_turn(
                    agent.engine,
                    agent.targets,
                    request,
                    tools,
                    stream=config.stream,
                    max_rounds=config.max_tool_rounds,
                    on_tool_result=config.on_tool_result,
                    record=record,
                )
            async with aclosing(chunks) as stream:
                async for chunk in stream:
                    yield chunk

        async def complete(result: ChatResult) -> None:
            self.usage = self.usage + result.usage
            if result.cost_usd is not None:
                self.cost_usd += result.cost_usd
            agent._account(result)
            steps = list(record) or [
                Message.assistant(result.text, result.tool_calls, result.reasoning)
            ]
            if self.log is not None:  # stored before the turn counts as done
                await self.log.record_turn(user, steps, result)
            self._messages.append(user)
            self._messages.extend(steps)
            if agent._memory is not None:
                agent._memory.after_turn(user.text, result.text, agent._facts)
            for handler in config.on_turn:
                await resolve(handler(self, result))

        async def failed(error: FluentAIError) -> None:
            if self.log is not None:
                try:
                    await self.log.record_failure(user, error)
                except Exception:
                    log.exception("history: the failed turn could not be stored")

        return ChatStream(
            source,
            model=agent.model,
            on_chunk=config.on_chunk,
            on_error=(failed, *config.on_error),
            on_complete=(complete,),
        )

    def _request(self, user: Message, context: str = "") -> ChatRequest:
        agent = self.agent
        config = agent.config
        messages: list[Message] = []
        system = ""
        if config.system is not None:
            system = config.system.render(config.variables, agent=agent.name, model=agent.model)
        if context:
            system = f"{system}\n\n{context}" if system else context
        if system:
            messages.append(Message.system(system))
        messages.extend(self._messages)
        messages.append(user)
        return ChatRequest(
            model=agent._resolved.model,
            messages=tuple(messages),
            temperature=config.temperature,
            max_tokens=config.max_tokens,
            top_p=config.top_p,
            stop=config.stop,
            seed=config.seed,
            extra=config.extra,
        )

    def chat_sync(self, message: UserInput) -> str:
        return run_sync(self.chat(message).text(), alternative="await agent.chat(...).text()")

    def stream_sync(self, message: UserInput) -> Iterator[Chunk]:
        return iterate_sync(
            aiter(self.chat(message)), alternative="async for chunk in agent.chat(...)"
        )

    async def chat_loop(
        self,
        first: UserInput,
        on_turn: TurnCallback,
        *,
        ask_user: AskUser | None = None,
        max_turns: int | None = None,
    ) -> list[ChatResult]:
        from fluent_ai.agent.loop import run_chat_loop

        return await run_chat_loop(self, first, on_turn, ask_user=ask_user, max_turns=max_turns)
