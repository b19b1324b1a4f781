"""``.mcp_server(...)``: an agent that owns its MCP servers (started at the first turn,
kept across turns, stopped by ``aclose``)."""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path
from typing import Any

import pytest

from fluent_ai import FluentAI, InvalidParameterError, Reply, Role, ScriptedModel, ToolCall, tool
from fluent_ai.tools.mcp_client import MCPError
from fluent_ai.types import ErrorChunk, ToolResult

ECHO_SERVER = [sys.executable, str(Path(__file__).with_name("mcp_echo_server.py"))]
TIME_SERVER = [sys.executable, "-m", "mcp_server_time", "--local-timezone", "UTC"]


def call(name: str, arguments: dict[str, Any], call_id: str) -> ToolCall:
    return ToolCall(call_id, name, json.dumps(arguments))


def gone(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return True
    return False


async def test_servers_start_at_the_first_turn_serve_later_turns_and_stop_on_close() -> None:
    model = ScriptedModel(
        Reply(tool_calls=(call("pid", {}, "a"),)),
        "first",
        Reply(tool_calls=(call("pid", {}, "b"),)),
        "second",
    )
    agent = await FluentAI.agent().model(model).mcp_server(ECHO_SERVER).abuild()
    first = [c async for c in agent.chat("pid?")]
    second = [c async for c in agent.chat("again?")]
    [pid_one] = [int(c.content) for c in first if isinstance(c, ToolResult)]
    [pid_two] = [int(c.content) for c in second if isinstance(c, ToolResult)]
    assert pid_one == pid_two, "one server process serves every turn"
    assert not gone(pid_one)
    await agent.aclose()
    assert gone(pid_one), "aclose stops the server"


async def test_a_third_party_server_as_a_context_manager() -> None:
    model = ScriptedModel(
        Reply(tool_calls=(call("get_current_time", {"timezone": "UTC"}, "t"),)), "It is now."
    )
    async with await FluentAI.agent().model(model).mcp_server(TIME_SERVER).abuild() as agent:
        assert await agent.chat("What time is it?").text() == "It is now."
    sent = model.requests[1].messages[-1]
    assert sent.role is Role.TOOL
    assert "UTC" in sent.text


async def test_a_name_clash_with_a_static_tool_fails_the_first_turn() -> None:
    @tool
    def echo(text: str) -> str:
        """Local echo."""
        return text

    agent = await (
        FluentAI.agent().model(ScriptedModel("x")).tools(echo).mcp_server(ECHO_SERVER).abuild()
    )
    chunks = [c async for c in agent.chat("hi")]
    assert isinstance(chunks[-1], ErrorChunk)
    assert isinstance(chunks[-1].error, InvalidParameterError)
    assert "two tools are named 'echo'" in str(chunks[-1].error)
    assert agent.history == ()
    await agent.aclose()


async def test_prefixes_keep_two_servers_apart() -> None:
    model = ScriptedModel(Reply(tool_calls=(call("b_echo", {"text": "hi"}, "c"),)), "done")
    agent = await (
        FluentAI.agent()
        .model(model)
        .mcp_server(ECHO_SERVER, prefix="a_")
        .mcp_server(ECHO_SERVER, prefix="b_")
        .abuild()
    )
    async with agent:
        chunks = [c async for c in agent.chat("go")]
    assert ToolResult("c", "b_echo", "hi") in chunks
    names = {t["function"]["name"] for t in model.requests[0].tools}
    assert {"a_echo", "b_echo"} <= names


async def test_a_server_that_cannot_start_is_a_clear_error_at_the_first_turn() -> None:
    agent = await (
        FluentAI.agent().model(ScriptedModel("x")).mcp_server(["no-such-mcp-server"]).abuild()
    )
    with pytest.raises(MCPError, match="no-such-mcp-server"):
        await agent.chat("hi").text()


def test_the_builder_wants_exactly_one_of_command_and_url() -> None:
    builder = FluentAI.agent()
    with pytest.raises(InvalidParameterError, match="either command"):
        builder.mcp_server()
    with pytest.raises(InvalidParameterError, match="either command"):
        builder.mcp_server(["x"], url="http://127.0.0.1:1/mcp")
    with pytest.raises(InvalidParameterError, match="list of words"):
        builder.mcp_server("python -m server")  # a str is a Sequence[str] to mypy
    with pytest.raises(InvalidParameterError, match="http"):
        builder.mcp_server(url="ftp://host/mcp")
