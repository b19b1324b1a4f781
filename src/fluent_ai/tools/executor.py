"""Running the tool calls of one model answer: validated, in parallel, each bounded.

Nothing a tool does can crash the turn: bad arguments, an exception, a timeout or an
unknown tool name become a :class:`ToolError` whose message goes back to the model, which
can correct its call. A sync tool runs in a worker thread; when it times out the turn
moves on, but Python cannot stop the thread (run untrusted or runaway code as a
sandboxed subprocess tool instead, which is killed).
"""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import Mapping, Sequence
from typing import Any

from pydantic import BaseModel

from fluent_ai.tools.tool import Tool, ToolArgumentsError
from fluent_ai.types import ToolCall, ToolError, ToolResult

__all__ = ["MAX_RESULT_CHARS", "format_result", "run_calls"]

log = logging.getLogger("fluent_ai.tools")

#: A tool result longer than this is cut (and says so): it goes into the model's context.
MAX_RESULT_CHARS = 100_000


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
        if chosen.timeout is None:
            value = await chosen.run(kwargs)
        else:
            async with asyncio.timeout(chosen.timeout):
                value = await chosen.run(kwargs)
    except TimeoutError:
        return ToolError(call.id, call.name, f"timed out after {chosen.timeout:g}s")
    except Exception as exc:  # noqa: BLE001 - any tool failure goes back to the model
        log.info("tool %s failed: %s: %s", call.name, type(exc).__name__, exc)
        return ToolError(call.id, call.name, f"{type(exc).__name__}: {exc}")
    return ToolResult(call.id, call.name, format_result(value))


async def run_calls(
    tools: Mapping[str, Tool], calls: Sequence[ToolCall]
) -> list[ToolResult | ToolError]:
    """Run every call concurrently; outcomes come back in the calls' order."""
    return list(await asyncio.gather(*(_run_one(tools, call) for call in calls)))
