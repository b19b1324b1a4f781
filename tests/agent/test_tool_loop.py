"""The agent's tool loop: calls validated and run in parallel, results sent back, bounded."""

from __future__ import annotations

import asyncio
import json
from typing import Any

import pytest

from fluent_ai import (
    FluentAI,
    InvalidParameterError,
    Message,
    Reply,
    Role,
    ScriptedModel,
    ToolCall,
    UnsupportedFeatureError,
)
from fluent_ai.errors import ToolLoopLimitError
from fluent_ai.tools.tool import Toolset, tool
from fluent_ai.types import Chunk, Done, ErrorChunk, ToolCallDelta, ToolError, ToolResult
from tests.fakes.openai_server import Behaviour, FakeOpenAIServer


@tool
def add(a: int, b: int) -> int:
    """Add two integers.

    Args:
        a: The first number.
        b: The second number.
    """
    return a + b


def call(name: str, arguments: dict[str, Any], call_id: str = "c1") -> ToolCall:
    return ToolCall(call_id, name, json.dumps(arguments))


async def chunks_of_turn(agent: Any, text: str) -> list[Chunk]:
    return [chunk async for chunk in agent.chat(text)]


async def test_a_tool_call_runs_and_its_result_goes_back() -> None:
    model = ScriptedModel(
        Reply(tool_calls=(call("add", {"a": 2, "b": 3}),)), "The sum is 5.", "Bye."
    )
    agent = await FluentAI.agent().model(model).tools(add).abuild()
    chunks = await chunks_of_turn(agent, "What is 2 + 3?")
    assert ToolResult("c1", "add", "5") in chunks
    assert [c for c in chunks if isinstance(c, Done)] == [chunks[-1]], "one Done per turn"
    first, second = model.requests
    assert first.tools[0]["function"]["name"] == "add"
    assert first.tools[0]["function"]["parameters"]["properties"]["a"]["description"] == (
        "The first number."
    )
    assert [m.role for m in second.messages] == [Role.USER, Role.ASSISTANT, Role.TOOL]
    assert second.messages[-1] == Message(Role.TOOL, "5", tool_call_id="c1", name="add")
    # The history keeps every step, so the next turn sees the tool exchange.
    assert [m.role for m in agent.history] == [
        Role.USER,
        Role.ASSISTANT,
        Role.TOOL,
        Role.ASSISTANT,
    ]
    assert agent.history[-1].text == "The sum is 5."
    await agent.chat("thanks").text()
    assert len(model.requests[2].messages) == 5


async def test_bad_arguments_go_back_to_the_model_as_a_tool_error() -> None:
    model = ScriptedModel(
        Reply(tool_calls=(call("add", {"a": "two", "b": 3}),)),
        Reply(tool_calls=(call("add", {"a": 2, "b": 3}, "c2"),)),
        "5.",
    )
    agent = await FluentAI.agent().model(model).tools(add).abuild()
    chunks = await chunks_of_turn(agent, "2+3?")
    [error] = [c for c in chunks if isinstance(c, ToolError)]
    assert error.call_id == "c1"
    assert "a: Input should be a valid integer" in error.message
    sent_back = model.requests[1].messages[-1]
    assert sent_back.role is Role.TOOL
    assert isinstance(sent_back.content, str)
    assert sent_back.content.startswith("Error: invalid arguments")
    assert ToolResult("c2", "add", "5") in chunks
    assert chunks[-1] == Done("stop", "scripted:scripted", None)


async def test_calls_of_one_answer_run_in_parallel() -> None:
    started = asyncio.Event()

    @tool
    async def first() -> str:
        """Waits until the second tool has started: a deadlock if run one after another."""
        async with asyncio.timeout(2):
            await started.wait()
        return "first done"

    @tool
    async def second() -> str:
        """Lets the first finish."""
        started.set()
        return "second done"

    model = ScriptedModel(
        Reply(tool_calls=(call("first", {}, "a"), call("second", {}, "b"))), "both ran"
    )
    agent = await FluentAI.agent().model(model).tools(first, second).abuild()
    chunks = await chunks_of_turn(agent, "go")
    results = [c for c in chunks if isinstance(c, ToolResult)]
    assert [(r.call_id, r.content) for r in results] == [("a", "first done"), ("b", "second done")]


async def test_a_tool_that_never_returns_is_stopped_by_its_timeout() -> None:
    @tool(timeout=0.05)
    async def hang() -> str:
        """Never returns."""
        await asyncio.Event().wait()
        return "unreachable"

    model = ScriptedModel(Reply(tool_calls=(call("hang", {}),)), "The tool timed out, sorry.")
    agent = await FluentAI.agent().model(model).tools(hang).abuild()
    chunks = await chunks_of_turn(agent, "go")
    assert ToolError("c1", "hang", "timed out after 0.05s") in chunks
    assert isinstance(chunks[-1], Done)


async def test_a_timeout_error_raised_by_a_tool_is_its_failure_not_our_timeout() -> None:
    @tool(timeout=5)
    async def fetch() -> str:
        """Fails the way an HTTP client's own timeout would."""
        raise TimeoutError("upstream took too long")

    @tool(timeout=5)
    def fetch_sync() -> str:
        """The same, from a worker thread."""
        raise TimeoutError("socket read timed out")

    model = ScriptedModel(
        Reply(tool_calls=(call("fetch", {}, "a"), call("fetch_sync", {}, "b"))), "Retrying later."
    )
    agent = await FluentAI.agent().model(model).tools(fetch, fetch_sync).abuild()
    errors = [c for c in await chunks_of_turn(agent, "go") if isinstance(c, ToolError)]
    assert errors == [
        ToolError("a", "fetch", "TimeoutError: upstream took too long"),
        ToolError("b", "fetch_sync", "TimeoutError: socket read timed out"),
    ]
    sent_back = [m.content for m in model.requests[1].messages if m.role is Role.TOOL]
    assert sent_back == [
        "Error: TimeoutError: upstream took too long",
        "Error: TimeoutError: socket read timed out",
    ]


async def test_an_exception_and_an_unknown_tool_become_tool_errors() -> None:
    def broken(x: int) -> int:
        """Always fails."""
        raise RuntimeError(f"cannot handle {x}")

    model = ScriptedModel(
        Reply(tool_calls=(call("broken", {"x": 1}, "a"), call("missing", {}, "b"))), "ok"
    )
    agent = await FluentAI.agent().model(model).tools(broken).abuild()
    errors = [c for c in await chunks_of_turn(agent, "go") if isinstance(c, ToolError)]
    assert errors[0] == ToolError("a", "broken", "RuntimeError: cannot handle 1")
    assert errors[1].message == "unknown tool 'missing'; tools: broken"


async def test_the_round_bound_ends_the_turn_with_a_clear_error() -> None:
    loop = [Reply(tool_calls=(call("add", {"a": 1, "b": 1}, f"c{i}"),)) for i in range(3)]
    agent = await (
        FluentAI.agent().model(ScriptedModel(*loop)).tools(add).max_tool_rounds(2).abuild()
    )
    chunks = await chunks_of_turn(agent, "loop")
    last = chunks[-1]
    assert isinstance(last, ErrorChunk)
    assert isinstance(last.error, ToolLoopLimitError)
    assert "after 2 rounds" in str(last.error)
    assert agent.history == (), "a failed turn leaves the history as it was"


async def test_tool_results_reach_the_handler_and_indexes_run_across_rounds() -> None:
    seen: list[ToolResult | ToolError] = []
    model = ScriptedModel(
        Reply(tool_calls=(call("add", {"a": 1, "b": 2}, "a"),)),
        Reply(tool_calls=(call("add", {"a": 3, "b": 4}, "b"),)),
        "done",
    )
    agent = await FluentAI.agent().model(model).tools(add).on_tool_result(seen.append).abuild()
    stream = agent.chat("go")
    chunks = [c async for c in stream]
    assert seen == [ToolResult("a", "add", "3"), ToolResult("b", "add", "7")]
    assert sorted({c.index for c in chunks if isinstance(c, ToolCallDelta)}) == [0, 1]
    result = await stream.result()
    assert [c.id for c in result.tool_calls] == ["a", "b"]


def test_tool_names_must_be_unique() -> None:
    other = Toolset.of("maths", add)
    with pytest.raises(InvalidParameterError, match="two tools are named 'add'"):
        FluentAI.agent().tools(add, other)


def test_functions_that_cannot_be_described_are_refused() -> None:
    def variadic(*args: int) -> int:
        return sum(args)

    with pytest.raises(InvalidParameterError, match=r"\*args cannot be described"):
        FluentAI.agent().tools(variadic)


async def test_a_model_without_tools_is_refused_before_sending(
    openai_env: FakeOpenAIServer,
) -> None:
    agent = await FluentAI.agent().model("openai:gpt-6.1-terra").tools(add).abuild()
    with pytest.raises(UnsupportedFeatureError, match="cannot call tools"):
        await agent.chat("2+3?").text()
    assert openai_env.chat_requests == []


async def test_the_loop_works_through_a_real_provider(openai_env: FakeOpenAIServer) -> None:
    tool_call = {
        "id": "call_9",
        "type": "function",
        "function": {"name": "add", "arguments": '{"a": 20, "b": 22}'},
    }
    openai_env.queue(Behaviour(text="", tool_calls=[tool_call]), Behaviour(text="It is 42."))
    agent = await FluentAI.agent().model("openai:gpt-4o-mini").tools(add).abuild()
    assert await agent.chat("20 + 22?").text() == "It is 42."
    follow_up = openai_env.chat_requests[-1].body["messages"]
    assert follow_up[-1] == {
        "role": "tool",
        "content": "42",
        "tool_call_id": "call_9",
        "name": "add",
    }
    assert follow_up[-2]["tool_calls"][0]["id"] == "call_9"
