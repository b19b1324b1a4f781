"""Running tools: one call bounded by its timeout, and one model answer's calls in parallel.

:func:`run_tool` is the single place a tool runs, for an agent's turn and for the MCP
server alike: it returns the raw value (the server also sends it as structured content)
or raises a :class:`ToolRunError`. In a turn nothing a tool does can crash it: bad
arguments, an exception, a timeout or an unknown tool name become a :class:`ToolError`
whose message goes back to the model, which can correct its call. A sync tool runs in a
worker thread; when it times out the turn moves on, but Python cannot stop the thread
(run untrusted or runaway code as a sandboxed subprocess tool instead, which is killed).
"""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import Mapping, Sequence
from typing import Any

from pydantic import BaseModel

from fluent_ai.errors import FluentAIError
from fluent_ai.tools.tool import Tool, ToolArgumentsError
from fluent_ai.types import ToolCall, ToolError, ToolResult

__all__ = [
    "MAX_RESULT_CHARS",
    "ToolFailedError",
    "ToolRunError",
    "ToolTimeoutError",
    "format_result",
    "run_calls",
    "run_tool",
]

log = logging.getLogger("fluent_ai.tools")

#: A tool result longer than this is cut (and says so): it goes into the model's context.
MAX_RESULT_CHARS = 100_000


class ToolRunError(FluentAIError):
    """A tool call did not return a value; the message is what the model or client reads."""

    def __init__(self, message: str, *, tool: str) -> None:
        super().__init__(message)
        self.tool = tool


class ToolTimeoutError(ToolRunError):
    """The tool ran past its own ``timeout`` and was abandoned."""

    def __init__(self, *, tool: str, timeout: float) -> None:
        super().__init__(f"timed out after {timeout:g}s", tool=tool)
        self.timeout = timeout


class ToolFailedError(ToolRunError):
    """The tool raised; ``error`` is its exception (a ``TimeoutError`` of its own included)."""

    def __init__(self, *, tool: str, error: Exception) -> None:
        super().__init__(f"{type(error).__name__}: {error}", tool=tool)
        self.error = error


async def run_tool(tool: Tool, kwargs: Mapping[str, Any]) -> Any:
    """Run ``tool`` on already validated ``kwargs`` within its timeout; its raw return value.

    Raises :class:`ToolTimeoutError` only when the tool's own deadline passed, and
    :class:`ToolFailedError` for anything the tool raised, so an upstream ``TimeoutError``
    inside the tool is reported as the tool's failure, not as our timeout.
    """
    deadline = asyncio.timeout(tool.timeout)
    try:
        async with deadline:
            return await tool.run(kwargs)
    except TimeoutError as exc:
        if deadline.expired() and tool.timeout is not None:
            raise ToolTimeoutError(tool=tool.name, timeout=tool.timeout) from None
        raise _failed(tool, exc) from exc
    except Exception as exc:  # any failure of the tool is reported as its own
        raise _failed(tool, exc) from exc


def _failed(tool: Tool, error: Exception) -> ToolFailedError:
    log.info("tool %s failed: %s: %s", tool.name, type(error).__name__, error)
    return ToolFailedError(tool=tool.name, error=error)


def format_result(value: Any) -> str:
    """A tool's return value as the text the model reads."""
    if isinstance(value, str):
        text = value
    elif isinstance(value, BaseModel):
        text = value.model_dump_json()
    else:
        try:
            text = json.dumps(value, ensure_ascii=False, default=_fallback)
        except (TypeError, ValueError):
            text = repr(value)
    if len(text) > MAX_RESULT_CHARS:
        dropped = len(text) - MAX_RESULT_CHARS
        text = f"{text[:MAX_RESULT_CHARS]}\n[… {dropped:,} more characters cut]"
    return text


def _fallback(value: Any) -> Any:
    if isinstance(value, BaseModel):
        return value.model_dump(mode="json")
    return str(value)


async def _run_one(tools: Mapping[str, Tool], call: ToolCall) -> ToolResult | ToolError:
    chosen = tools.get(call.name)
    if chosen is None:
        known = ", ".join(sorted(tools)) or "none"
        return ToolError(call.id, call.name, f"unknown tool {call.name!r}; tools: {known}")
    try:
        kwargs = chosen.validate(call.arguments)
    except ToolArgumentsError as exc:
        return ToolError(call.id, call.name, str(exc))
    try:
        value = await run_tool(chosen, kwargs)
    except ToolRunError as exc:
        return ToolError(call.id, call.name, str(exc))
    return ToolResult(call.id, call.name, format_result(value))


async def run_calls(
    tools: Mapping[str, Tool], calls: Sequence[ToolCall]
) -> list[ToolResult | ToolError]:
    """Run every call concurrently; outcomes come back in the calls' order."""
    return list(await asyncio.gather(*(_run_one(tools, call) for call in calls)))
