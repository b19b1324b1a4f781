"""One agent turn with tools: ask the model, run the tools it calls, repeat, answer.

Each round streams through the engine (so fallback, validation, cost and tracing apply
per call). The stream the user sees carries every round's text, the tool-call chunks
(indexes numbered across the whole turn), a :class:`ToolResult` or :class:`ToolError`
per call, and a single ``UsageChunk`` + ``Done`` at the end with the turn's totals.
The messages the turn produced (assistant turns with their tool calls and reasoning,
tool results) are recorded so the conversation's history can take them all at once.
"""

from __future__ import annotations

import dataclasses
from collections.abc import AsyncGenerator, Awaitable, Callable, Mapping, Sequence
from typing import TYPE_CHECKING

from fluent_ai._aio import resolve
from fluent_ai.errors import ToolLoopLimitError
from fluent_ai.providers.base import ResultBuilder
from fluent_ai.tools.executor import run_calls
from fluent_ai.tools.tool import Tool
from fluent_ai.types import (
    ChatRequest,
    Chunk,
    Done,
    Message,
    Role,
    ToolCallDelta,
    ToolError,
    ToolResult,
    Usage,
    UsageChunk,
)

if TYPE_CHECKING:
    from fluent_ai.engine import Engine, Target

__all__ = ["ToolResultHandler", "run_tool_turn"]

ToolResultHandler = Callable[[ToolResult | ToolError], Awaitable[None] | None]


async def run_tool_turn(
    engine: Engine,
    targets: Sequence[Target],
    request: ChatRequest,
    tools: Mapping[str, Tool],
    *,
    stream: bool,
    max_rounds: int,
    on_tool_result: Sequence[ToolResultHandler],
    record: list[Message],
) -> AsyncGenerator[Chunk, None]:
    """Yield the turn's chunks; append the turn's new messages to ``record``."""
    declarations = tuple(t.declaration() for t in tools.values())
    messages = list(request.messages)
    usage = Usage()
    cost: float | None = None
    offset = 0
    for round_number in range(max_rounds + 1):
        call = dataclasses.replace(request, messages=tuple(messages), tools=declarations)
        builder = ResultBuilder(call.model)
        done: Done | None = None
        async for chunk in engine.run(targets, call, stream=stream):
            builder.add(chunk)
            if isinstance(chunk, UsageChunk):
                usage = usage + chunk.usage
            elif isinstance(chunk, Done):
                done = chunk
                if chunk.cost_usd is not None:
                    cost = (cost or 0.0) + chunk.cost_usd
            elif isinstance(chunk, ToolCallDelta) and offset:
                yield dataclasses.replace(chunk, index=chunk.index + offset)
            else:
                yield chunk
        if done is None:  # the engine always ends with Done or raises; be explicit anyway
            return
        result = builder.result()
        assistant = Message.assistant(result.text, result.tool_calls, result.reasoning)
        record.append(assistant)
        if not result.tool_calls:
            yield UsageChunk(usage)
            yield Done(done.finish_reason, done.model, cost)
            return
        if round_number == max_rounds:
            raise ToolLoopLimitError(
                f"the model was still calling tools after {max_rounds} rounds "
                f"(last: {', '.join(c.name for c in result.tool_calls)}); "
                "raise the bound with .max_tool_rounds(n) or check the tools' results",
                rounds=max_rounds,
            )
        outcomes = await run_calls(tools, result.tool_calls)
        replies: list[Message] = []
        for outcome in outcomes:
            for handler in on_tool_result:
                await resolve(handler(outcome))
            yield outcome
            text = outcome.content if isinstance(outcome, ToolResult) else _error(outcome)
            replies.append(
                Message(Role.TOOL, text, tool_call_id=outcome.call_id, name=outcome.name)
            )
        record.extend(replies)
        messages.append(assistant)
        messages.extend(replies)
        offset += len(result.tool_calls)


def _error(outcome: ToolError) -> str:
    return f"Error: {outcome.message}"
