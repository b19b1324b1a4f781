"""Models for tests: answers given in advance, or computed by a function.

Like pydantic-ai's ``TestModel``/``FunctionModel``: an agent under test runs its real
turn loop, handlers and history, and only the model is replaced. Replies stream in
small pieces so streaming code paths are exercised, and a reply can fail part-way.
"""

from __future__ import annotations

import asyncio
import re
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass

from fluent_ai._aio import resolve
from fluent_ai.errors import ConfigurationError, FluentAIError
from fluent_ai.providers.base import Provider
from fluent_ai.types import (
    ChatRequest,
    Chunk,
    Done,
    Message,
    TextDelta,
    ToolCall,
    ToolCallDelta,
    Usage,
    UsageChunk,
)

__all__ = ["FunctionModel", "Reply", "ScriptedModel"]

_PIECES = re.compile(r"\S+\s*|\s+")


@dataclass(frozen=True, slots=True)
class Reply:
    """One scripted answer.

    ``text`` streams word by word; ``tool_calls`` follow it; ``error`` (if set) is raised
    after ``fail_after`` text pieces have been sent, which simulates a cut stream.
    """

    text: str = ""
    tool_calls: tuple[ToolCall, ...] = ()
    error: FluentAIError | None = None
    fail_after: int = 0
    finish_reason: str | None = None
    usage: Usage | None = None
    delay: float = 0.0

    def pieces(self) -> list[str]:
        return _PIECES.findall(self.text)


ReplyLike = str | Reply | FluentAIError


def _as_reply(item: ReplyLike) -> Reply:
    if isinstance(item, Reply):
        return item
    if isinstance(item, FluentAIError):
        return Reply(error=item)
    if isinstance(item, str):
        return Reply(text=item)
    raise TypeError(f"a scripted reply must be str, Reply or FluentAIError, got {item!r}")


async def _play(reply: Reply, request: ChatRequest, model: str) -> AsyncIterator[Chunk]:
    pieces = reply.pieces()
    if reply.error is not None and reply.fail_after <= 0:
        raise reply.error
    for i, piece in enumerate(pieces):
        if reply.delay:
            await asyncio.sleep(reply.delay)
        yield TextDelta(piece)
        if reply.error is not None and i + 1 >= reply.fail_after:
            raise reply.error
    for index, call in enumerate(reply.tool_calls):
        yield ToolCallDelta(index, call.id, call.name, call.arguments, call.signature)
    if reply.error is not None:
        raise reply.error
    prompt_words = sum(len(m.text.split()) for m in request.messages)
    usage = reply.usage or Usage(input_tokens=prompt_words, output_tokens=len(pieces))
    yield UsageChunk(usage)
    finish = reply.finish_reason or ("tool_calls" if reply.tool_calls else "stop")
    yield Done(finish, model)


class ScriptedModel(Provider):
    """Answers each call with the next reply given (strings, :class:`Reply`, errors).

    ``requests`` records every request received, for assertions.
    """

    name = "scripted"

    def __init__(self, *replies: ReplyLike, model_name: str = "scripted") -> None:
        self.replies: list[Reply] = [_as_reply(r) for r in replies]
        self.model_name = model_name
        self.requests: list[ChatRequest] = []

    async def stream(self, request: ChatRequest) -> AsyncIterator[Chunk]:
        index = len(self.requests)
        self.requests.append(request)
        if index >= len(self.replies):
            raise ConfigurationError(
                f"ScriptedModel ran out of replies: call {index + 1}, {len(self.replies)} scripted",
                provider=self.name,
            )
        async for chunk in _play(self.replies[index], request, f"{self.name}:{self.model_name}"):
            yield chunk


ReplyFunction = Callable[[tuple[Message, ...], ChatRequest], ReplyLike | Awaitable[ReplyLike]]


class FunctionModel(Provider):
    """Answers by calling ``function(messages, request)`` (sync or async)."""

    name = "function"

    def __init__(self, function: ReplyFunction, *, model_name: str = "function") -> None:
        self.function = function
        self.model_name = model_name
        self.requests: list[ChatRequest] = []

    async def stream(self, request: ChatRequest) -> AsyncIterator[Chunk]:
        self.requests.append(request)
        outcome: ReplyLike = await resolve(self.function(request.messages, request))
        async for chunk in _play(_as_reply(outcome), request, f"{self.name}:{self.model_name}"):
            yield chunk
