"""MCP servers as toolsets, against real server processes (no mocks of the SDK).

The third-party ``mcp-server-time`` proves interoperability; our own echo server
(``mcp_echo_server.py``) provides the failure cases: a tool that fails, bad arguments, a
crash, binary content, a name providers reject, and the streamable HTTP transport.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from fluent_ai import FluentAI, Reply, Role, ScriptedModel, ToolCall
from fluent_ai.errors import ConfigurationError
from fluent_ai.tools.mcp_client import MCPError, MCPServer, MCPToolError
from fluent_ai.tools.mcp_content import local_names
from fluent_ai.types import Chunk, ToolError, ToolResult
from tests.tools.mcp_http import ECHO_SERVER, echo_over_http, free_port

TIME_SERVER = [sys.executable, "-m", "mcp_server_time", "--local-timezone", "UTC"]


def call(name: str, arguments: dict[str, Any], call_id: str = "c1") -> ToolCall:
    return ToolCall(call_id, name, json.dumps(arguments))


def gone(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return True
    return False


async def turn(server: MCPServer, *replies: Reply | str) -> tuple[ScriptedModel, list[Chunk]]:
    """One agent turn whose model asks for the scripted tool calls."""
    model = ScriptedModel(*replies)
    agent = await FluentAI.agent().model(model).tools(await server.toolset()).abuild()
    return model, [chunk async for chunk in agent.chat("go")]


# --- the third-party time server ---------------------------------------------------------


async def test_the_time_servers_tools_become_a_toolset_with_their_schemas() -> None:
    async with MCPServer.stdio(TIME_SERVER) as server:
        toolset = await server.toolset()
    assert toolset.name == "mcp-time"
    tools = {t.name: t for t in toolset.tools}
    assert set(tools) == {"get_current_time", "convert_time"}
    declaration = tools["get_current_time"].declaration()["function"]
    assert declaration["parameters"]["required"] == ["timezone"]
    assert declaration["parameters"]["properties"]["timezone"]["type"] == "string"
    assert "current time" in declaration["description"]


async def test_an_agent_calls_get_current_time_and_the_result_reaches_the_model() -> None:
    async with MCPServer.stdio(TIME_SERVER) as server:
        model, chunks = await turn(
            server,
            Reply(tool_calls=(call("get_current_time", {"timezone": "UTC"}),)),
            "It is time.",
        )
    [result] = [c for c in chunks if isinstance(c, ToolResult)]
    first, second = model.requests
    assert "get_current_time" in {d["function"]["name"] for d in first.tools}
    sent = second.messages[-1]
    assert (sent.role, sent.tool_call_id, sent.name) == (Role.TOOL, "c1", "get_current_time")
    assert sent.content == result.content
    assert isinstance(sent.content, str)
    data = json.loads(sent.content)
    assert data["timezone"] == "UTC"
    moment = datetime.fromisoformat(data["datetime"])
    assert moment.utcoffset() == timedelta(0)
    assert abs(moment - datetime.now(UTC)) < timedelta(minutes=5)


# --- our echo server: failures become ToolErrors -----------------------------------------


async def test_a_tool_that_fails_and_bad_arguments_come_back_as_tool_errors() -> None:
    async with MCPServer.stdio(ECHO_SERVER) as server:
        model, chunks = await turn(
            server,
            Reply(
                tool_calls=(
                    call("fail", {"message": "the disk is on fire"}, "a"),
                    call("add", {"a": "two", "b": 3}, "b"),
                    call("add", {"a": 2, "b": 3}, "c"),
                )
            ),
            "Done.",
        )
    errors = {c.call_id: c.message for c in chunks if isinstance(c, ToolError)}
    assert errors["a"].startswith("MCPToolError: ")
    assert "the disk is on fire" in errors["a"]
    assert errors["b"].startswith("MCPToolError: ")
    assert "valid integer" in errors["b"]  # the server's own validation message
    assert ToolResult("c", "add", "5") in chunks
    tool_messages = [m for m in model.requests[1].messages if m.role is Role.TOOL]
    assert [m.tool_call_id for m in tool_messages] == ["a", "b", "c"]
    assert str(tool_messages[0].content).startswith("Error: MCPToolError: ")


async def test_the_server_process_is_gone_after_the_block() -> None:
    async with MCPServer.stdio(ECHO_SERVER) as server:
        pid = int(await server.call("pid"))
        assert not gone(pid)
    assert gone(pid), "the MCP server process outlived its block (or was never reaped)"
    with pytest.raises(MCPError, match="not open"):
        await server.call("echo", {"text": "late"})


async def test_a_crashed_server_turns_each_later_call_into_an_error() -> None:
    async with MCPServer.stdio(ECHO_SERVER) as server:
        model, chunks = await turn(
            server,
            Reply(tool_calls=(call("die", {}, "a"),)),
            Reply(tool_calls=(call("echo", {"text": "anyone?"}, "b"),)),
            "It crashed.",
        )
        with pytest.raises(MCPError, match="closed the connection") as later:
            await server.call("echo", {"text": "still there?"})
    errors = {c.call_id: c.message for c in chunks if isinstance(c, ToolError)}
    for message in errors.values():
        assert message.startswith("MCPError: MCP server")
        assert "closed the connection" in message
        assert "dying on request" in message  # the server's stderr tail
    assert set(errors) == {"a", "b"}
    assert "dying on request" in str(later.value)
    assert model.requests[2].messages[-1].role is Role.TOOL


async def test_binary_content_is_described_and_odd_names_are_made_valid() -> None:
    async with MCPServer.stdio(ECHO_SERVER) as server:
        toolset = await server.toolset(prefix="echo_")
        names = {t.name for t in toolset.tools}
        assert "echo_dotted_name" in names
        assert "echo_echo" in names
        _, chunks = await turn(
            server,
            Reply(tool_calls=(call("dotted_name", {}, "a"), call("picture", {}, "b"))),
            "ok",
        )
    assert ToolResult("a", "dotted_name", "dotted ok") in chunks
    assert ToolResult("b", "picture", "a picture:\n[image/png, 4 bytes]") in chunks


def test_names_providers_reject_are_rewritten_without_taking_valid_ones() -> None:
    assert local_names(["a.b", "a_b", "ok"]) == {"a_b": "a_b", "ok": "ok", "a_b_2": "a.b"}
    long = "x" * 70
    assert local_names([long, long + ".y"]) == {"x" * 64: long, "x" * 62 + "_2": long + ".y"}
    assert local_names(["search"], prefix="web_") == {"web_search": "search"}
    assert local_names(["ü"]) == {"_": "ü"}


# --- servers that do not start ------------------------------------------------------------


async def test_a_command_that_does_not_exist_is_a_clear_error() -> None:
    with pytest.raises(MCPError) as caught:
        async with MCPServer.stdio(["no-such-mcp-server-binary", "--flag"]):
            pass
    assert isinstance(caught.value, ConfigurationError)
    message = str(caught.value)
    assert message.startswith("MCP server `no-such-mcp-server-binary --flag` failed to start")
    assert "command not found: no-such-mcp-server-binary" in message


async def test_a_server_that_exits_at_once_reports_its_stderr() -> None:
    script = "import sys; sys.stderr.write('missing config file\\n'); sys.exit(2)"
    with pytest.raises(MCPError) as caught:
        async with MCPServer.stdio([sys.executable, "-c", script]):
            pass
    message = str(caught.value)
    assert "failed to start: the server closed the connection" in message
    assert message.endswith("its stderr ends with: missing config file")


async def test_a_server_that_never_answers_the_handshake_times_out() -> None:
    started = time.monotonic()
    with pytest.raises(MCPError, match=r"no answer to the initialize handshake within 0\.5s"):
        async with MCPServer.stdio(
            [sys.executable, "-c", "import time; time.sleep(60)"], init_timeout=0.5
        ):
            pass
    assert time.monotonic() - started < 15  # the silent process was stopped, not waited for


def test_bad_commands_and_urls_fail_when_described() -> None:
    with pytest.raises(MCPError, match="non-empty list"):
        MCPServer.stdio([])
    with pytest.raises(MCPError, match="non-empty list"):
        MCPServer.stdio("python -m server")
    with pytest.raises(MCPError, match="http:// or https://"):
        MCPServer.http("localhost:8000/mcp")


def test_importing_the_client_does_not_import_the_sdk() -> None:
    code = "import sys, fluent_ai.tools.mcp_client; print('mcp' in sys.modules)"
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=60
    )
    assert out.stdout.strip() == "False"


# --- streamable HTTP -----------------------------------------------------------------------


@pytest.fixture
def http_process() -> Iterator[tuple[str, subprocess.Popen[bytes]]]:
    """The echo server on streamable HTTP in a subprocess: its ``/mcp`` URL and process."""
    with echo_over_http() as running:
        yield running


@pytest.fixture
def http_echo(http_process: tuple[str, subprocess.Popen[bytes]]) -> str:
    return http_process[0]


async def test_a_streamable_http_server_lists_and_runs_its_tools(http_echo: str) -> None:
    async with MCPServer.http(http_echo, headers={"X-Test": "1"}) as server:
        assert server.server_name == "echo"
        assert await server.call("echo", {"text": "over http"}) == "over http"
        with pytest.raises(MCPToolError, match="valid integer"):
            await server.call("add", {"a": "x", "b": 1})
        _, chunks = await turn(server, Reply(tool_calls=(call("add", {"a": 40, "b": 2}),)), "42")
    assert ToolResult("c1", "add", "42") in chunks


async def test_an_http_server_that_is_not_there_is_a_clear_error() -> None:
    url = f"http://127.0.0.1:{free_port()}/mcp"
    with pytest.raises(MCPError) as caught:
        async with MCPServer.http(url, init_timeout=10):
            pass
    assert str(caught.value).startswith(f"MCP server `{url}` failed to start: ConnectError")


async def test_an_http_server_that_goes_away_fails_the_call_not_the_turn(
    http_process: tuple[str, subprocess.Popen[bytes]],
) -> None:
    url, proc = http_process
    async with MCPServer.http(url) as server:
        toolset = await server.toolset()
        proc.terminate()
        proc.wait(timeout=10)
        model = ScriptedModel(Reply(tool_calls=(call("echo", {"text": "hello?"}),)), "Gone.")
        agent = await FluentAI.agent().model(model).tools(toolset).abuild()
        assert await agent.chat("go").text() == "Gone."
    sent = model.requests[1].messages[-1]
    assert sent.role is Role.TOOL
    assert str(sent.content).startswith(f"Error: MCPError: MCP server `{url}` (tool 'echo'):")
