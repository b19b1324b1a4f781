"""An agent as a room member: it answers each message, streaming its reply to everyone.

The replica that received a message is the one that answers it, so a room spread over
replicas hears one reply; the reply counts against the rate limits of whoever sent the
message (the server's :class:`~fluent_ai.server.state.RequestLimiter`). The agent sees
the room's recent messages as its conversation: its own earlier replies as
``assistant`` turns and everything people said since as one ``user`` turn, each line
prefixed with the speaker's name. Replies in a room are answered one at a time (in
order) on a replica; a bounded backlog keeps a flood of messages from piling up model
calls. The finished reply is stored in the room's conversation, so ``history`` and the
next reply see it.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Sequence
from typing import TYPE_CHECKING, Any

from fluent_ai.auth.principal import Principal
from fluent_ai.chat.types import ChatMessage, new_id
from fluent_ai.errors import FluentAIError
from fluent_ai.models.tokens import estimate_message_tokens
from fluent_ai.server.error_text import public_message
from fluent_ai.server.realtime.persistence import RoomArchive
from fluent_ai.server.state import Admission, RequestLimiter
from fluent_ai.types import Done, ErrorChunk, Message, Role, TextDelta, Usage, UsageChunk

if TYPE_CHECKING:
    from fluent_ai.agent.agent import Agent

__all__ = ["AgentFactory", "AgentMember", "Broadcast", "agent_turns", "agent_user"]

log = logging.getLogger("fluent_ai.server.realtime")

#: Turns an agent name (or model spec) into the :class:`Agent` that answers as it.
AgentFactory = Callable[[str], Awaitable["Agent"]]
#: Sends an event to every member of a room, on every replica.
Broadcast = Callable[[str, dict[str, Any]], Awaitable[bool]]


def agent_user(spec: str) -> str:
    """The member name an agent speaks under: ``agent:NAME``."""
    return spec if spec.startswith("agent:") else f"agent:{spec}"


def agent_turns(messages: Sequence[ChatMessage], me: str) -> tuple[list[Message], Message]:
    """The agent's view of a room: history turns, and the user turn to answer.

    Consecutive messages from people merge into one ``user`` turn (``name: text`` per
    line), so providers that insist on alternating roles accept the history.
    """
    turns: list[Message] = []
    lines: list[str] = []
    for message in messages:
        speaker = message.metadata.get("user")
        name = speaker if isinstance(speaker, str) else message.role.value
        if message.role is Role.ASSISTANT and name == me:
            if lines:
                turns.append(Message.user("\n".join(lines)))
                lines = []
            turns.append(Message.assistant(message.text))
        else:
            lines.append(f"{name}: {message.text}")
    return turns, Message.user("\n".join(lines))


class AgentMember:
    """Answers room messages with agents, one reply at a time per room."""

    def __init__(
        self,
        agents: AgentFactory,
        archive: RoomArchive,
        broadcast: Broadcast,
        *,
        history: int,
        backlog: int,
        timeout: float,
        limiter: RequestLimiter | None = None,
    ) -> None:
        self._agents = agents
        self._limiter = limiter
        self._archive = archive
        self._broadcast = broadcast
        self._history = history
        self._backlog = backlog
        self._timeout = timeout
        self._locks: dict[str, asyncio.Lock] = {}
        self._waiting: dict[str, int] = {}
        self._tasks: set[asyncio.Task[None]] = set()

    async def check(self, spec: str) -> None:
        """Raise the factory's error if ``spec`` names no agent it can build."""
        await self._agents(spec)

    def answer(self, room: str, spec: str, trigger: ChatMessage, sender: Principal) -> None:
        """Reply to ``trigger`` (from ``sender``) in the background, after earlier ones."""
        reply_id = new_id()
        if self._waiting.get(room, 0) >= self._backlog:
            busy = "the agent is busy: too many messages are waiting for a reply"
            self._spawn(self._broadcast(room, _error(room, reply_id, busy)))
            return
        self._waiting[room] = self._waiting.get(room, 0) + 1
        self._spawn(self._serialised(room, spec, trigger, sender, reply_id))

    def _spawn(self, work: Awaitable[Any]) -> None:
        async def run() -> None:
            await work

        task = asyncio.get_running_loop().create_task(run(), name="realtime-agent")
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _serialised(
        self, room: str, spec: str, trigger: ChatMessage, sender: Principal, reply_id: str
    ) -> None:
        lock = self._locks.setdefault(room, asyncio.Lock())
        try:
            async with lock:
                await self._reply(room, spec, trigger, sender, reply_id)
        except FluentAIError as exc:  # the store failed: the room hears that, the log why
            log.warning("realtime: agent reply in %r failed: %s", room, exc)
            message = "the reply failed: the chat history is unavailable; try again"
            await self._broadcast(room, _error(room, reply_id, message))
        finally:
            left = self._waiting.get(room, 1) - 1
            if left > 0:
                self._waiting[room] = left
            else:
                self._waiting.pop(room, None)
                self._locks.pop(room, None)

    async def _reply(
        self, room: str, spec: str, trigger: ChatMessage, sender: Principal, reply_id: str
    ) -> None:
        user = agent_user(spec)
        messages = await self._archive.history(room, limit=self._history, through=trigger.id)
        turns, prompt = agent_turns(messages, user)
        try:
            agent = await self._agents(spec)
            admission = await self._admit(sender, [*turns, prompt])
        except FluentAIError as exc:  # no such agent any more, or the sender is over a limit
            message = f"agent {spec!r}: {public_message(exc)}"
            await self._broadcast(room, _error(room, reply_id, message))
            return
        used = admission.reserved_tokens if admission is not None else 0
        try:
            used = await self._stream(room, agent, turns, prompt, user, reply_id)
        finally:
            if admission is not None:
                await self._settle(admission, used)

    async def _admit(self, sender: Principal, turns: list[Message]) -> Admission | None:
        if self._limiter is None:
            return None
        estimate = sum(estimate_message_tokens(m) for m in turns)
        return await self._limiter.admit(sender, estimate)

    async def _settle(self, admission: Admission, used: int) -> None:
        if self._limiter is None:
            return
        try:
            await self._limiter.settle(admission, used)
        except FluentAIError as exc:
            log.warning("realtime: could not settle an agent reply's tokens: %s", exc)

    async def _stream(
        self,
        room: str,
        agent: Agent,
        turns: list[Message],
        prompt: Message,
        user: str,
        reply_id: str,
    ) -> int:
        """Stream one reply to the room and store it; the tokens it used."""
        await self._broadcast(
            room, {"type": "agent_start", "room": room, "id": reply_id, "user": user}
        )
        parts: list[str] = []
        usage, model, cost, error = Usage(), "", None, None
        try:
            async with asyncio.timeout(self._timeout):
                async with agent.conversation(turns).chat(prompt) as stream:
                    async for chunk in stream:
                        if isinstance(chunk, TextDelta) and chunk.text:
                            parts.append(chunk.text)
                            delta = {"type": "agent_delta", "room": room, "id": reply_id}
                            await self._broadcast(room, {**delta, "text": chunk.text})
                        elif isinstance(chunk, UsageChunk):
                            usage = usage + chunk.usage
                        elif isinstance(chunk, Done):
                            model, cost = chunk.model, chunk.cost_usd
                        elif isinstance(chunk, ErrorChunk):
                            # The room sees what a client may; the log keeps the rest.
                            log.warning("realtime: agent reply in %r: %s", room, chunk.error)
                            error = public_message(chunk.error)
        except TimeoutError:
            error = f"the agent did not finish within {self._timeout:g} s"
        text = "".join(parts)
        if error is not None:
            await self._archive.add_reply(
                room, reply_id=reply_id, user=user, text="", status="failed", error=error
            )
            await self._broadcast(room, _error(room, reply_id, error))
            return usage.total_tokens or len(text) // 4
        await self._archive.add_reply(
            room, reply_id=reply_id, user=user, text=text, model=model, usage=usage, cost_usd=cost
        )
        tokens = {"input_tokens": usage.input_tokens, "output_tokens": usage.output_tokens}
        done = {"type": "agent_done", "room": room, "id": reply_id, "text": text}
        await self._broadcast(room, {**done, "usage": tokens})
        return usage.total_tokens or len(text) // 4

    async def aclose(self, grace: float) -> None:
        """Let replies in flight finish for up to ``grace`` seconds, then cancel the rest."""
        pending = set(self._tasks)
        if pending and grace > 0:
            await asyncio.wait(pending, timeout=grace)
        for task in pending:
            task.cancel()
        await asyncio.gather(*pending, return_exceptions=True)


def _error(room: str, reply_id: str, message: str) -> dict[str, Any]:
    return {"type": "agent_error", "room": room, "id": reply_id, "message": message}
