"""Our tools served over MCP: in process (the SDK's own client), over stdio and over
streamable HTTP (our client, ``MCPServer``), against the tools in ``served_tools.py``."""

from __future__ import annotations

import asyncio
import os
import socket
import sys
from pathlib import Path
from typing import Any

import pytest
from mcp import Client
from mcp.shared.exceptions import MCPError as ProtocolError
from mcp.types import INVALID_PARAMS, CallToolResult

from fluent_ai import FluentAI, Reply, ScriptedModel, ToolCall
from fluent_ai.errors import InvalidParameterError
from fluent_ai.tools.executor import MAX_RESULT_CHARS
from fluent_ai.tools.mcp_client import MCPError, MCPServer, MCPToolError
from fluent_ai.tools.mcp_server import build_server, call_tool, serve_http
from fluent_ai.tools.tool import tool
from fluent_ai.types import ToolResult
from tests.tools import served_tools
from tests.tools.served_tools import TOOLS, add

SERVED = [sys.executable, str(Path(__file__).with_name("served_tools.py"))]


def text_of(result: CallToolResult) -> str:
    return "\n".join(block.text for block in result.content if block.type == "text")


def connect() -> Client:
    """The SDK's client on our server, in process (opened inside each test's task)."""
    return Client(build_server(TOOLS))


# --- the protocol, in process ----------------------------------------------------------------


async def test_tools_are_listed_with_our_schemas_unchanged() -> None:
    async with connect() as client:
        listed = {each.name: each for each in (await client.list_tools()).tools}
        assert list(listed) == [each.name for each in TOOLS]
        declared = add.declaration()["function"]
        assert listed["add"].input_schema == declared["parameters"]
        assert listed["add"].description == declared["description"]
        assert listed["add"].input_schema["properties"]["a"]["description"] == "The first number."


async def test_a_call_returns_the_text_an_agent_would_read() -> None:
    async with connect() as client:
        result = await client.call_tool("add", {"a": 2, "b": 3})
        assert (result.is_error, text_of(result), result.structured_content) == (False, "5", None)
        greeting = await client.call_tool("greet", {"name": "Ada", "excited": True})
        assert text_of(greeting) == "Hello, Ada!"


async def test_dict_and_model_results_are_structured_content_too() -> None:
    async with connect() as client:
        profile = await client.call_tool("profile", {"name": "Ada"})
        assert profile.structured_content == {"name": "Ada", "length": 3}
        assert text_of(profile) == '{"name": "Ada", "length": 3}'
        point = await client.call_tool("point", {"x": 1, "y": 2})
        assert point.structured_content == {"x": 1, "y": 2}


@pytest.mark.parametrize(
    ("arguments", "problem"),
    [
        ({"a": "x", "b": 1}, "valid integer"),
        ({"a": 1}, "b"),
        ({"a": 1, "b": 2, "c": 3}, "c"),
        ({"a": [1], "b": {"x": 1}}, "valid integer"),
    ],
)
async def test_arguments_that_fail_validation_are_a_tool_error(
    arguments: dict[str, Any], problem: str
) -> None:
    async with connect() as client:
        result = await client.call_tool("add", arguments)
        assert result.is_error is True
        assert text_of(result).startswith("invalid arguments:")
        assert problem in text_of(result)
        assert text_of(await client.call_tool("add", {"a": 1, "b": 1})) == "2", "still serving"


async def test_a_tool_that_raises_is_an_error_result_with_its_message() -> None:
    async with connect() as client:
        result = await client.call_tool("boom", {"message": "kaboom"})
        assert (result.is_error, text_of(result)) == (True, "ValueError: kaboom")


async def test_a_tool_past_its_timeout_is_an_error_result() -> None:
    async with connect() as client:
        result = await client.call_tool("slow", {})
        assert (result.is_error, text_of(result)) == (True, "timed out after 0.2s")


async def test_an_unknown_tool_is_a_protocol_error_naming_the_tools() -> None:
    async with connect() as client:
        with pytest.raises(ProtocolError) as caught:
            await client.call_tool("nope", {})
        assert caught.value.code == INVALID_PARAMS
        assert "unknown tool 'nope'; tools: add, boom" in str(caught.value)


async def test_a_timeout_error_raised_by_the_tool_is_not_called_ours() -> None:
    @tool
    async def upstream() -> str:
        """Fails the way an HTTP client's timeout would."""
        raise TimeoutError("upstream took too long")

    result = await call_tool(upstream, {})
    assert (result.is_error, text_of(result)) == (True, "TimeoutError: upstream took too long")


async def test_a_tool_without_a_timeout_and_a_plain_function_are_served() -> None:
    @tool(timeout=None)
    def double(n: int) -> int:
        """Twice n."""
        return 2 * n

    def shout(text: str) -> str:
        """Upper-case."""
        return text.upper()

    async with Client(build_server([double, shout], name="mine")) as connected:
        assert text_of(await connected.call_tool("double", {"n": 21})) == "42"
        assert text_of(await connected.call_tool("shout", {"text": "hi"})) == "HI"


def test_clashing_names_and_no_tools_are_refused() -> None:
    with pytest.raises(InvalidParameterError, match="two tools are named 'add'"):
        build_server(served_tools.CLASHING)
    with pytest.raises(InvalidParameterError, match="at least one tool"):
        build_server([])
    with pytest.raises(InvalidParameterError, match="not callable"):
        build_server([42])  # type: ignore[list-item]


# --- over stdio, with our client -------------------------------------------------------------


def gone(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return True
    return False


async def test_stdio_serves_calls_and_errors_to_our_client() -> None:
    async with MCPServer.stdio(SERVED) as server:
        assert server.server_name == "fluent-ai"
        toolset = await server.toolset()
        assert [each.name for each in toolset.tools] == [each.name for each in TOOLS]
        assert await server.call("add", {"a": 40, "b": 2}) == "42"
        assert await server.call("greet", {"name": "Bo"}) == "Hello, Bo."
        with pytest.raises(MCPToolError, match=r"^ValueError: kaboom$"):
            await server.call("boom", {"message": "kaboom"})
        with pytest.raises(MCPToolError, match=r"^invalid arguments: .*valid integer"):
            await server.call("add", {"a": "x", "b": 1})
        with pytest.raises(MCPToolError, match=r"^timed out after 0.2s$"):
            await server.call("slow")
        with pytest.raises(MCPError, match="unknown tool 'nope'"):
            await server.call("nope")
        pid = int(await server.call("pid"))
    assert gone(pid), "the server process is gone after the block"


async def test_stdout_printed_by_a_tool_does_not_break_the_stdio_stream() -> None:
    async with MCPServer.stdio(SERVED) as server:
        assert await server.call("noisy", {"text": "hi"}) == "HI"
        assert await server.call("add", {"a": 1, "b": 2}) == "3"


async def test_an_agent_calls_served_tools_through_our_client() -> None:
    model = ScriptedModel(
        Reply(tool_calls=(ToolCall("c1", "add", '{"a": 20, "b": 22}'),)), "It is 42."
    )
    async with MCPServer.stdio(SERVED) as server:
        agent = await FluentAI.agent().model(model).tools(await server.toolset()).abuild()
        chunks = [chunk async for chunk in agent.chat("20 + 22?")]
    assert ToolResult("c1", "add", "42") in chunks
    assert model.requests[1].messages[-1].text == "42"


# --- over streamable HTTP ----------------------------------------------------------------------


async def test_http_on_a_free_loopback_port_serves_our_client_and_stops_when_cancelled() -> None:
    listening: asyncio.Future[str] = asyncio.get_running_loop().create_future()
    serving = asyncio.create_task(serve_http(TOOLS, port=0, on_listening=listening.set_result))
    try:
        url = await asyncio.wait_for(asyncio.shield(listening), 20)
        assert url.startswith("http://127.0.0.1:")
        assert url.endswith("/mcp")
        async with MCPServer.http(url) as server:
            assert await server.call("add", {"a": 2, "b": 2}) == "4"
            assert await server.call("greet", {"name": "Cy"}) == "Hello, Cy."
            with pytest.raises(MCPToolError, match=r"^ValueError: no$"):
                await server.call("boom", {"message": "no"})
            with pytest.raises(MCPToolError, match=r"^invalid arguments"):
                await server.call("add", {"a": 1})
    finally:
        serving.cancel()
        with pytest.raises(asyncio.CancelledError):
            await serving
    port = int(url.rsplit(":", 1)[1].split("/")[0])
    with pytest.raises(ConnectionRefusedError), socket.create_connection(("127.0.0.1", port)):
        pass


async def test_an_oversized_http_request_is_refused_and_the_server_keeps_serving() -> None:
    listening: asyncio.Future[str] = asyncio.get_running_loop().create_future()
    serving = asyncio.create_task(serve_http(TOOLS, port=0, on_listening=listening.set_result))
    try:
        url = await asyncio.wait_for(asyncio.shield(listening), 20)
        async with MCPServer.http(url) as server:
            with pytest.raises(MCPError, match=r"\(tool 'noisy'\): Server returned an error"):
                await server.call("noisy", {"text": "x" * 5_000_000})
        async with MCPServer.http(url) as server:
            assert await server.call("add", {"a": 1, "b": 1}) == "2"
    finally:
        serving.cancel()
        with pytest.raises(asyncio.CancelledError):
            await serving


async def test_a_result_too_long_for_a_model_is_cut_and_not_structured() -> None:
    @tool
    def big() -> dict[str, str]:
        """A dict longer than a model may read."""
        return {"text": "x" * (MAX_RESULT_CHARS + 10)}

    result = await call_tool(big, {})
    assert result.structured_content is None
    assert text_of(result).endswith("more characters cut]")


async def test_a_failing_listening_callback_stops_the_server() -> None:
    seen: list[str] = []

    def refuse(url: str) -> None:
        seen.append(url)
        raise RuntimeError("no thanks")

    with pytest.raises(RuntimeError, match="no thanks"):
        await serve_http([add], port=0, on_listening=refuse)
    port = int(seen[0].rsplit(":", 1)[1].split("/")[0])
    with pytest.raises(ConnectionRefusedError), socket.create_connection(("127.0.0.1", port)):
        pass


async def test_http_on_a_port_in_use_is_a_clear_error() -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        with pytest.raises(MCPError, match=f"cannot listen on 127.0.0.1:{port}"):
            await serve_http([add], port=port)


async def test_http_refuses_a_bad_port_or_path() -> None:
    with pytest.raises(InvalidParameterError, match="port"):
        await serve_http([add], port=70000)
    with pytest.raises(InvalidParameterError, match="path"):
        await serve_http([add], path="mcp")
