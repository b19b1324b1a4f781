"""``run_tool``: one tool call within its timeout, its raw value or a typed error."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from pydantic import BaseModel

from fluent_ai.errors import FluentAIError
from fluent_ai.tools.executor import ToolFailedError, ToolRunError, ToolTimeoutError, run_tool
from fluent_ai.tools.tool import Tool, tool


class Point(BaseModel):
    x: int
    y: int


@tool
def point(x: int, y: int) -> Point:
    """A point."""
    return Point(x=x, y=y)


@tool
async def pair(a: str, b: str) -> dict[str, Any]:
    """Two strings as an object."""
    return {"a": a, "b": b}


async def test_the_raw_value_comes_back_unformatted() -> None:
    assert await run_tool(point, {"x": 1, "y": 2}) == Point(x=1, y=2)
    assert await run_tool(pair, {"a": "p", "b": "q"}) == {"a": "p", "b": "q"}


async def test_a_tool_past_its_timeout_is_our_timeout() -> None:
    @tool(timeout=0.05)
    async def hang() -> str:
        """Never returns."""
        await asyncio.Event().wait()
        return "unreachable"

    with pytest.raises(ToolTimeoutError) as caught:
        await run_tool(hang, {})
    assert str(caught.value) == "timed out after 0.05s"
    assert (caught.value.tool, caught.value.timeout) == ("hang", 0.05)
    assert isinstance(caught.value, ToolRunError)
    assert isinstance(caught.value, FluentAIError)


@pytest.mark.parametrize("limit", [5.0, None])
async def test_a_timeout_error_the_tool_raises_is_its_own_failure(limit: float | None) -> None:
    upstream = TimeoutError("upstream took too long")

    async def fetch() -> str:
        """Fails the way an HTTP client's own timeout would."""
        raise upstream

    with pytest.raises(ToolFailedError) as caught:
        await run_tool(Tool.from_function(fetch, timeout=limit), {})
    assert not isinstance(caught.value, ToolTimeoutError)
    assert str(caught.value) == "TimeoutError: upstream took too long"
    assert caught.value.error is upstream
    assert caught.value.__cause__ is upstream


async def test_a_sync_tool_raising_timeout_error_in_its_thread_is_its_own_failure() -> None:
    @tool(timeout=5)
    def read_socket() -> str:
        """Fails the way a blocking socket read would."""
        raise TimeoutError("timed out")

    with pytest.raises(ToolFailedError, match=r"^TimeoutError: timed out$"):
        await run_tool(read_socket, {})


async def test_any_exception_is_a_failure_naming_its_type() -> None:
    @tool
    def divide(a: int, b: int) -> float:
        """a / b."""
        return a / b

    with pytest.raises(ToolFailedError, match=r"^ZeroDivisionError: division by zero$") as caught:
        await run_tool(divide, {"a": 1, "b": 0})
    assert caught.value.tool == "divide"
    assert isinstance(caught.value.error, ZeroDivisionError)


async def test_kwargs_that_do_not_fit_the_function_are_a_failure_not_a_crash() -> None:
    with pytest.raises(ToolFailedError, match=r"^TypeError: .*unexpected keyword argument 'z'"):
        await run_tool(point, {"x": 1, "y": 2, "z": 3})
    with pytest.raises(ToolFailedError, match=r"^TypeError: .*missing 1 required"):
        await run_tool(point, {"x": 1})


async def test_cancelling_the_caller_cancels_the_tool_and_is_not_reported_as_a_failure() -> None:
    started = asyncio.Event()
    stopped = asyncio.Event()

    @tool(timeout=None)
    async def wait_forever() -> str:
        """Runs until cancelled."""
        started.set()
        try:
            await asyncio.Event().wait()
        finally:
            stopped.set()
        return "unreachable"

    task = asyncio.create_task(run_tool(wait_forever, {}))
    await started.wait()
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert stopped.is_set()
