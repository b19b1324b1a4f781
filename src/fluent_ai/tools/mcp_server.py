"""Our tools as an MCP server (stdio or streamable HTTP), for any MCP client.

Built on the SDK's low-level ``Server`` rather than its decorator framework, so the JSON
schema a client sees is exactly ``Tool.declaration()``'s and arguments are checked by
``Tool.validate``, the same code that checks a model's calls in an agent turn. Nothing a
tool does can take the server down: bad arguments, an exception or a timeout come back
as an ``isError`` result whose text says what went wrong (the client's model can then
correct its call); only an unknown tool name is a protocol error, as the MCP spec asks.

Any :class:`~fluent_ai.tools.tool.Tool` can be served, so long-term memory search is one
more tool in the list::

    await serve_stdio([add, Tool.python()])
    await serve_http(toolset, host="127.0.0.1", port=8000)   # http://127.0.0.1:8000/mcp
"""

from __future__ import annotations

import asyncio
import json
import socket
from collections.abc import Callable, Iterable, Mapping
from typing import Any

from mcp.server.lowlevel import Server
from mcp.server.stdio import stdio_server
from mcp.shared.exceptions import MCPError as ProtocolError
from mcp.types import (
    INVALID_PARAMS,
    CallToolRequestParams,
    CallToolResult,
    ListToolsResult,
    PaginatedRequestParams,
    TextContent,
)
from mcp.types import Tool as ServedTool
from pydantic import BaseModel

from fluent_ai import __version__
from fluent_ai.errors import InvalidParameterError
from fluent_ai.tools.executor import MAX_RESULT_CHARS, ToolRunError, format_result, run_tool
from fluent_ai.tools.mcp_client import MCPError
from fluent_ai.tools.tool import Tool, ToolArgumentsError, Toolset, collect_tools

__all__ = [
    "DEFAULT_HOST",
    "DEFAULT_NAME",
    "DEFAULT_PATH",
    "DEFAULT_PORT",
    "ToolItems",
    "build_server",
    "call_tool",
    "serve_http",
    "serve_stdio",
]

#: Loopback by default: serving tools to the network is a choice the user makes.
DEFAULT_HOST = "127.0.0.1"
DEFAULT_PORT = 8000
DEFAULT_PATH = "/mcp"
DEFAULT_NAME = "fluent-ai"
#: Seconds open HTTP streams get to finish when the server stops.
_GRACEFUL_SHUTDOWN = 3.0

ToolItems = Iterable[Tool | Toolset | Callable[..., Any]]


def build_server(tools: ToolItems, *, name: str = DEFAULT_NAME) -> Server[Any]:
    """An SDK low-level ``Server`` serving ``tools`` (names must be unique)."""
    served = collect_tools(tools)
    if not served:
        raise InvalidParameterError("tools", "an MCP server needs at least one tool to serve")
    by_name = {each.name: each for each in served}
    listing = ListToolsResult(tools=[_describe(each) for each in served])

    async def list_tools(_: Any, params: PaginatedRequestParams | None) -> ListToolsResult:
        return listing

    async def call(_: Any, params: CallToolRequestParams) -> CallToolResult:
        chosen = by_name.get(params.name)
        if chosen is None:
            known = ", ".join(sorted(by_name))
            raise ProtocolError(INVALID_PARAMS, f"unknown tool {params.name!r}; tools: {known}")
        return await call_tool(chosen, params.arguments or {})

    def input_schema(tool_name: str) -> Mapping[str, Any] | None:
        chosen = by_name.get(tool_name)
        return None if chosen is None else dict(chosen.parameters)

    return Server(
        name,
        version=__version__,
        on_list_tools=list_tools,
        on_call_tool=call,
        get_tool_input_schema=input_schema,
    )


def _describe(tool: Tool) -> ServedTool:
    """The MCP listing entry: the declaration's name, description and schema, unchanged."""
    function = tool.declaration()["function"]
    return ServedTool(
        name=function["name"],
        description=function.get("description"),
        input_schema=function["parameters"],
    )


async def call_tool(tool: Tool, arguments: Mapping[str, Any]) -> CallToolResult:
    """Validate ``arguments``, run ``tool`` within its timeout, and say how it went.

    Text content is what an agent's model would read (``format_result``); a dict or a
    pydantic model is also sent as ``structuredContent``.
    """
    try:
        kwargs = tool.validate(json.dumps(dict(arguments)))
    except ToolArgumentsError as exc:
        return _failure(str(exc))
    try:
        value = await run_tool(tool, kwargs)
    except ToolRunError as exc:
        return _failure(str(exc))
    text = format_result(value)
    return CallToolResult(
        content=[TextContent(type="text", text=text)],
        structured_content=_structured(value, text),
    )


def _failure(message: str) -> CallToolResult:
    return CallToolResult(content=[TextContent(type="text", text=message)], is_error=True)


def _structured(value: Any, text: str) -> dict[str, Any] | None:
    """A dict or model result as a JSON object, read back from the text already made.

    A result that had to be cut, or that was not JSON-serialisable, has none.
    """
    if not isinstance(value, dict | BaseModel) or len(text) > MAX_RESULT_CHARS:
        return None
    try:
        data = json.loads(text)
    except ValueError:
        return None
    return data if isinstance(data, dict) else None


async def serve_stdio(tools: ToolItems, *, name: str = DEFAULT_NAME) -> None:
    """Serve ``tools`` on this process's stdin/stdout until the client closes stdin.

    While serving, the SDK points file descriptor 1 at stderr, so a stray ``print`` in a
    tool cannot corrupt the protocol stream.
    """
    server = build_server(tools, name=name)
    async with stdio_server() as (read, write):
        await server.run(read, write, server.create_initialization_options())


async def serve_http(
    tools: ToolItems,
    *,
    host: str = DEFAULT_HOST,
    port: int = DEFAULT_PORT,
    path: str = DEFAULT_PATH,
    name: str = DEFAULT_NAME,
    on_listening: Callable[[str], object] | None = None,
) -> None:
    """Serve ``tools`` over streamable HTTP at ``http://host:port/path`` until stopped.

    ``port=0`` picks a free port; ``on_listening`` receives the URL once connections are
    accepted. Stops on SIGINT/SIGTERM (in the main thread) or when the task is cancelled,
    both gracefully.
    """
    import uvicorn

    if not path.startswith("/"):
        raise InvalidParameterError("path", f"must start with '/', got {path!r}")
    server = build_server(tools, name=name)
    app = server.streamable_http_app(streamable_http_path=path, host=host)
    listener = await asyncio.to_thread(_listen, host, port)
    config = uvicorn.Config(
        app,
        log_config=None,
        access_log=False,
        timeout_graceful_shutdown=int(_GRACEFUL_SHUTDOWN),
    )
    runner = uvicorn.Server(config)
    serving = asyncio.ensure_future(runner.serve(sockets=[listener]))
    try:
        if on_listening is not None:
            on_listening(_url(host, listener.getsockname()[1], path))
        await asyncio.shield(serving)
    except BaseException:
        runner.should_exit = True  # cancelled (or the callback failed): stop gracefully
        await asyncio.wait((serving,))
        raise
    finally:
        listener.close()


def _listen(host: str, port: int) -> socket.socket:
    """A listening socket, so the port (even ``0``) is known and connectable before serving."""
    if not 0 <= port <= 65535:
        raise InvalidParameterError("port", f"must be 0-65535, got {port}")
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    try:
        return socket.create_server((host, port), family=family)
    except OSError as exc:
        raise MCPError(f"cannot listen on {host}:{port}: {exc.strerror or exc}") from None


def _url(host: str, port: int, path: str) -> str:
    shown = f"[{host}]" if ":" in host else host
    return f"http://{shown}:{port}{path}"
