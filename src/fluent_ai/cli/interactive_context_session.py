"""The chat a terminal session is having: its agent, its conversation, its session name.

Slash commands change what the next turn talks to: ``/clear`` starts a new stored
conversation, ``/load`` continues another one, ``/branch`` moves to another branch of
this one, ``/settings`` rebuilds the agent (a new model or temperature) while the
conversation goes on under the same id. :class:`ChatSession` does those switches (and
``/save``, ``/stats``, which are about this chat); answering the other history commands
is :class:`~fluent_ai.cli.interactive_context.TerminalContext`'s job.

Saving follows the agent: with ``--no-save`` the agent has no persist spec and nothing
is written until ``/save`` turns saving on for this chat (:meth:`ChatSession.start_saving`).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING

from fluent_ai.agent.builder import AgentBuilder
from fluent_ai.agent.conversation import Conversation
from fluent_ai.agent.persistence import PersistSpec
from fluent_ai.chat.commands_context import ConversationStats
from fluent_ai.chat.types import MAIN_BRANCH, ChatMessage, ConversationRecord
from fluent_ai.errors import FluentAIError, InvalidParameterError
from fluent_ai.types import Role

if TYPE_CHECKING:
    from fluent_ai.agent.agent import Agent
    from fluent_ai.chat.commands import ArgValue
    from fluent_ai.chat.store import ChatStore
    from fluent_ai.types import Message

__all__ = ["ChatSession", "SessionError"]


class SessionError(FluentAIError):
    """A command asked for something this chat cannot do now (e.g. branch a chat that is
    not stored yet); the message says what would make it possible."""


class ChatSession:
    """The agent and conversation the next message goes to, switched by commands."""

    def __init__(self, agent: Agent, store: str | None) -> None:
        self.agent = agent
        self.conversation = agent.default_conversation
        self._persist = agent.config.persist
        self._store = store
        self.session = self._persist.session if self._persist is not None else None

    @property
    def saving(self) -> bool:
        """Whether turns are written to the history store."""
        return self._persist is not None

    @property
    def conversation_id(self) -> str | None:
        """The stored conversation's id; ``None`` until its first turn is saved."""
        return self.conversation.conversation_id

    async def start(self) -> None:
        """Load the conversation ``-c`` / ``--cid`` continues, so a wrong id fails now."""
        await self.conversation.load()

    def stored_id(self, doing: str) -> str:
        """The current conversation's id, or a :class:`SessionError` naming ``doing``."""
        conversation_id = self.conversation_id
        if conversation_id is None:
            reason = (
                "it is stored with its first answer"
                if self.saving
                else "this chat is not being saved (--no-save); /save starts saving it"
            )
            raise SessionError(f"cannot {doing} yet: {reason}")
        return conversation_id

    # -- switching conversations ---------------------------------------------------------

    def _spec(self, conversation_id: str | None) -> PersistSpec:
        base = self._persist or PersistSpec(store=self._store)
        return dataclasses.replace(
            base, conversation_id=conversation_id, continue_last=False, session=self.session
        )

    def _new(
        self, agent: Agent, conversation_id: str | None, seed: Sequence[Message]
    ) -> Conversation:
        if self._persist is None:
            return Conversation(agent, seed)
        return Conversation(agent, seed, persist=self._spec(conversation_id))

    async def _replace(self, conversation: Conversation) -> None:
        """Make ``conversation`` current (conversations share the agent's store handle,
        which the agent closes when the chat ends)."""
        self.conversation = conversation

    async def clear(self) -> None:
        """A new conversation (stored at its first turn), seeded as the agent was built."""
        await self._replace(self._new(self.agent, None, self.agent.config.history))

    async def load(self, conversation_id: str, stored: Sequence[Message]) -> None:
        """Continue stored conversation ``conversation_id``; ``stored`` is its current
        branch as history, used as it is when this chat does not save."""
        if self._persist is None:
            await self._replace(Conversation(self.agent, stored))
            return
        conversation = self._new(self.agent, conversation_id, ())
        await conversation.load()
        await self._replace(conversation)

    async def reload(self) -> None:
        """Continue from the store's current branch (after ``/branch new`` or ``switch``)."""
        await self.conversation.reload()

    def switch_session(self, name: str | None) -> None:
        """File new conversations under ``name``; a conversation not stored yet too."""
        self.session = name
        if self._persist is not None and self.conversation_id is None:
            history = self.conversation.history
            self.conversation = self._new(self.agent, None, history)

    async def store_now(self, store: ChatStore, title: str | None) -> ConversationRecord:
        """Store the chat so far as a new conversation (``/save`` before the first saved
        turn) and save the later turns in it, even if the chat began with ``--no-save``."""
        agent, history = self.agent, self.conversation.history
        first = next((m.text for m in history if m.role is Role.USER), "")
        record = await store.create_conversation(
            ConversationRecord(
                title=title or " ".join(first.split())[:80],
                session=self.session,
                agent=agent.name,
                model=agent.model,
            )
        )
        if history:
            messages = [ChatMessage(conversation_id=record.id, message=m) for m in history]
            await store.append(record.id, None, messages)
        if self._persist is None:
            self._persist = PersistSpec(store=self._store, session=self.session)
        conversation = self._new(agent, record.id, ())
        await conversation.load()
        await self._replace(conversation)
        return record

    async def stats(self, store: ChatStore | None) -> ConversationStats:
        """``/stats``: the stored path's counts, or the in-memory ones before it is stored
        (``store`` may then be ``None``)."""
        agent, conversation = self.agent, self.conversation
        conversation_id = conversation.conversation_id
        if conversation_id is None or store is None:
            return ConversationStats(
                None,
                MAIN_BRANCH,
                agent.model,
                len(conversation.history),
                conversation.usage.input_tokens,
                conversation.usage.output_tokens,
                conversation.cost_usd,
            )
        record = await store.get_conversation(conversation_id)
        path = await store.path(conversation_id)
        costs = [m.cost_usd for m in path if m.cost_usd is not None]
        answers = any(m.role is Role.ASSISTANT and m.status == "complete" for m in path)
        return ConversationStats(
            conversation_id,
            record.current_branch,
            agent.model,
            len(path),
            sum(m.input_tokens for m in path),
            sum(m.output_tokens for m in path),
            sum(costs) if costs or not answers else None,
        )

    # -- settings ------------------------------------------------------------------------

    def chat_settings(self) -> Mapping[str, object]:
        """The values ``/settings`` shows and changes."""
        config = self.agent.config
        return {
            "model": self.agent.model,
            "system": config.system.source if config.system is not None else None,
            "temperature": config.temperature,
            "max_tokens": config.max_tokens,
            "stream": config.stream,
        }

    async def change_setting(self, key: str, value: ArgValue) -> None:
        """Rebuild the agent with ``key`` changed; the conversation goes on (same id,
        same history). A bad value or unknown model leaves everything as it was."""
        builder = _changed(AgentBuilder(self.agent.config), key, value)
        agent = await builder.abuild(self.agent.runtime)
        old_agent, old = self.agent, self.conversation
        conversation = self._new(agent, old.conversation_id, old.history)
        try:
            await conversation.load()
        except BaseException:
            await agent.aclose()
            raise
        self.agent = agent
        await self._replace(conversation)
        await old_agent.aclose()  # its MCP servers; the new agent starts its own

    async def aclose(self) -> None:
        await self.agent.aclose()


def _changed(builder: AgentBuilder, key: str, value: ArgValue) -> AgentBuilder:
    """``builder`` with one chat setting changed (``None`` clears an optional one)."""
    config = builder.config
    if key == "model" and isinstance(value, str):
        return builder.model(value, fallback=config.fallback)
    if key == "stream" and isinstance(value, bool):
        return builder.streaming(value)
    if value is None and key == "system":
        return AgentBuilder(dataclasses.replace(config, system=None))
    if value is None and key == "temperature":
        return AgentBuilder(dataclasses.replace(config, temperature=None))
    if value is None and key == "max_tokens":
        return AgentBuilder(dataclasses.replace(config, max_tokens=None))
    if key == "system" and isinstance(value, str):
        return builder.system_prompt(value)
    if key == "temperature" and isinstance(value, int | float) and not isinstance(value, bool):
        return builder.temperature(float(value))
    if key == "max_tokens" and isinstance(value, int) and not isinstance(value, bool):
        return builder.max_tokens(value)
    raise InvalidParameterError(key, f"cannot be set to {value!r:.60} in a chat")
