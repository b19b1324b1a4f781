"""MCP servers (stdio or streamable HTTP) as agent toolsets.

An agent's tools are fixed when it is built, but an MCP server is a live connection (a
subprocess, an HTTP session) that must be opened and closed in async code. So the server
is an async context manager and the agent is built, and used, inside it::

    async with MCPServer.stdio(["python", "-m", "mcp_server_time"]) as server:
        agent = await (
            FluentAI.agent().model("openai:gpt-4o-mini").tools(await server.toolset()).abuild()
        )
        print(await agent.chat("What time is it in Tokyo?").text())

    async with MCPServer.http("http://127.0.0.1:8000/mcp", headers={"Authorization": "…"}) as s:
        tools = await s.toolset(prefix="remote_")

Each MCP tool becomes a :class:`~fluent_ai.tools.tool.Tool` whose schema is the server's
``inputSchema`` (the server validates the arguments, and its complaint goes back to the
model); an ``isError`` result or a dead server raises inside the tool, so the executor
hands the model a ``ToolError`` instead of crashing the turn. A server that cannot start
or finish the handshake raises :class:`MCPError` with the command and its stderr's tail.
Leaving the block ends the session and stops the subprocess (stdin closed, then the
process tree terminated), so no server outlives it. The ``mcp`` SDK is imported only
when a server is opened.
"""

from __future__ import annotations

import asyncio
import logging
import os
from collections.abc import Awaitable, Callable, Mapping, Sequence
from contextlib import AsyncExitStack
from types import TracebackType
from typing import TYPE_CHECKING, Any, Self, TextIO, TypeVar

from fluent_ai.errors import ConfigurationError, FluentAIError
from fluent_ai.tools.mcp_content import (
    failure_reason,
    innermost,
    local_names,
    result_text,
    stderr_tail,
)
from fluent_ai.tools.mcp_transport import Endpoint, Http, Stdio, new_errlog, open_session
from fluent_ai.tools.tool import DEFAULT_TIMEOUT, Tool, Toolset

if TYPE_CHECKING:
    from mcp import ClientSession
    from mcp.types import ListToolsResult
    from mcp.types import Tool as RemoteTool

__all__ = ["DEFAULT_INIT_TIMEOUT", "MCPError", "MCPServer", "MCPToolError"]

log = logging.getLogger("fluent_ai.tools.mcp")

#: Seconds a server has to start and answer the initialize handshake.
DEFAULT_INIT_TIMEOUT = 30.0
_MAX_PAGES = 100
_Result = TypeVar("_Result")


class MCPError(ConfigurationError):
    """An MCP server could not be started, reached or used."""


class MCPToolError(FluentAIError):
    """The server ran the tool and reported failure (``isError``); its text goes to the model."""


class MCPServer:
    """One MCP server connection; open it with ``async with`` (see the module docs)."""

    def __init__(self, endpoint: Endpoint, *, init_timeout: float) -> None:
        if init_timeout <= 0:
            raise MCPError(f"init_timeout must be > 0, got {init_timeout}")
        self._endpoint = endpoint
        self.init_timeout = init_timeout
        self._session: ClientSession | None = None
        self._owner: asyncio.Task[None] | None = None
        self._stop = asyncio.Event()
        self._errlog: TextIO | None = None
        self.server_name: str | None = None

    @classmethod
    def stdio(
        cls,
        command: Sequence[str],
        env: Mapping[str, str] | None = None,
        cwd: str | os.PathLike[str] | None = None,
        *,
        init_timeout: float = DEFAULT_INIT_TIMEOUT,
    ) -> MCPServer:
        """A server run as a subprocess speaking MCP on its stdin/stdout.

        ``env`` adds to a minimal environment (PATH, HOME, USER…): like the MCP SDK, the
        server does not inherit the rest of ours, so provider keys do not leak into it.
        """
        if isinstance(command, str) or not command or not all(command):
            raise MCPError(f"an MCP server command is a non-empty list of words, got {command!r}")
        return cls(Stdio(tuple(command), env, cwd), init_timeout=init_timeout)

    @classmethod
    def http(
        cls,
        url: str,
        headers: Mapping[str, str] | None = None,
        *,
        init_timeout: float = DEFAULT_INIT_TIMEOUT,
        oauth: str | None = None,
    ) -> MCPServer:
        """A server at a streamable HTTP endpoint (``http(s)://host/mcp``).

        ``oauth`` names an ``[oauth.NAME]`` client whose bearer token every request carries
        (``fluent-ai auth login NAME`` first when it uses the authorization code flow).
        """
        if not url.startswith(("http://", "https://")):
            raise MCPError(f"an MCP server URL starts with http:// or https://, got {url!r}")
        return cls(Http(url, dict(headers or {}), oauth), init_timeout=init_timeout)

    @property
    def label(self) -> str:
        """The server as messages name it: its command line, or its URL without secrets."""
        return self._endpoint.label

    def __repr__(self) -> str:
        return f"MCPServer({self.label!r})"

    async def __aenter__(self) -> Self:
        if self._owner is not None:
            raise MCPError(f"MCP server `{self.label}` is already open")
        ready = asyncio.get_running_loop().create_future()
        self._stop = asyncio.Event()
        owner = asyncio.create_task(self._serve(ready), name=f"MCP server {self.label}")
        self._owner = owner
        try:
            await asyncio.wait((ready, owner), return_when=asyncio.FIRST_COMPLETED)
        except BaseException:
            owner.cancel()  # still connecting: stop now (the SDK still stops the process)
            await self._shut_down()
            raise
        if not ready.done():
            failure = _ended(owner)
            message = await self._start_failure(failure)
            await self._shut_down()
            raise MCPError(message) from failure
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        await self._shut_down()

    async def _serve(self, ready: asyncio.Future[None]) -> None:
        """Own the connection in a task of its own, from connect to shutdown.

        The SDK's transports run in anyio task groups that cancel the task which entered
        them when a transport task fails (a refused HTTP POST does): in this task, that
        ends the connection instead of cancelling the caller's agent turn, and the
        groups are entered and left by the same task whoever opens and closes us.
        """
        endpoint = self._endpoint
        async with AsyncExitStack() as stack:
            if isinstance(endpoint, Stdio):
                self._errlog = await new_errlog()
            self._session, self.server_name = await open_session(
                endpoint, stack, self._errlog, self.init_timeout
            )
            ready.set_result(None)
            await self._stop.wait()

    async def _shut_down(self) -> None:
        """Stop the owner task (closing the session and the subprocess) and wait for it."""
        owner, self._owner, self._session = self._owner, None, None
        self._stop.set()
        if owner is not None:
            try:
                await asyncio.wait((owner,))
            except BaseException:
                owner.cancel()  # we are cancelled ourselves: make the close quick
                raise
            finally:
                self._close_errlog()
            if not owner.cancelled() and owner.exception() is not None:
                reason = failure_reason(_ended(owner))
                log.info("MCP server %s ended with: %s", self.label, reason)

    async def list_tools(self) -> list[RemoteTool]:
        """The server's tools as the SDK describes them (every page)."""
        tools: list[RemoteTool] = []
        cursor: str | None = None
        for _ in range(_MAX_PAGES):
            page = await self._request("tools/list", _tools_page(cursor))
            tools.extend(page.tools)
            cursor = page.next_cursor
            if cursor is None:
                break
        return tools

    async def toolset(
        self,
        name: str | None = None,
        *,
        prefix: str = "",
        call_timeout: float | None = DEFAULT_TIMEOUT,
    ) -> Toolset:
        """The server's tools as a :class:`Toolset` for ``.tools(...)``.

        ``name`` defaults to the server's own name; ``prefix`` is put before every tool
        name (two servers with a ``search`` tool need it); ``call_timeout`` bounds each call.
        Names providers would reject are rewritten, and calls still reach the original.
        """
        remote = await self.list_tools()
        by_name = {tool.name: tool for tool in remote}
        tools = []
        for local, original in local_names([t.name for t in remote], prefix).items():
            described = by_name[original]
            tools.append(
                Tool(
                    name=local,
                    description=described.description or described.title or "",
                    parameters=dict(described.input_schema),
                    function=self._caller(original),
                    arguments=None,
                    timeout=call_timeout,
                )
            )
        return Toolset(name or self.server_name or "mcp", tuple(tools))

    async def call(self, name: str, arguments: Mapping[str, Any] | None = None) -> str:
        """Call one tool by the server's name; its result as text, or MCPToolError."""
        payload = dict(arguments or {})
        result = await self._request(f"tool {name!r}", lambda s: s.call_tool(name, payload))
        text = result_text(result)
        if result.is_error:
            raise MCPToolError(text or f"tool {name!r} failed without a message")
        return text

    def _caller(self, remote_name: str) -> Callable[..., Awaitable[str]]:
        async def call(**arguments: Any) -> str:
            return await self.call(remote_name, arguments)

        call.__name__ = remote_name
        return call

    async def _request(
        self, what: str, send: Callable[[ClientSession], Awaitable[_Result]]
    ) -> _Result:
        """Send one request; if the connection dies first, fail with why instead of waiting."""
        owner, session = self._owner, self._session
        if owner is None or session is None:
            raise MCPError(
                f"MCP server `{self.label}` is not open: use it inside `async with server:`"
            )
        if owner.done():
            raise MCPError(await self._call_failure(what, _ended(owner)))
        request = asyncio.ensure_future(send(session))
        try:
            await asyncio.wait((request, owner), return_when=asyncio.FIRST_COMPLETED)
        finally:
            if not request.done():
                request.cancel()
                request.add_done_callback(_consume)
        if request.cancelled():
            raise MCPError(await self._call_failure(what, _ended(owner)))
        failure = request.exception()
        if failure is not None:
            raise MCPError(await self._call_failure(what, failure)) from failure
        return request.result()

    async def _start_failure(self, exc: BaseException) -> str:
        reason = failure_reason(exc)
        if isinstance(innermost(exc), TimeoutError):
            reason = f"no answer to the initialize handshake within {self.init_timeout:g}s"
        return f"MCP server `{self.label}` failed to start: {reason}{await self._stderr_note()}"

    async def _call_failure(self, what: str, exc: BaseException) -> str:
        return (
            f"MCP server `{self.label}` ({what}): {failure_reason(exc)}{await self._stderr_note()}"
        )

    async def _stderr_note(self) -> str:
        errlog = self._errlog
        if errlog is None:
            return ""
        tail = await asyncio.to_thread(stderr_tail, errlog)
        return f"; its stderr ends with: {tail}" if tail else ""

    def _close_errlog(self) -> None:
        errlog, self._errlog = self._errlog, None
        if errlog is not None:
            errlog.close()


def _tools_page(cursor: str | None) -> Callable[[ClientSession], Awaitable[ListToolsResult]]:
    from mcp.types import PaginatedRequestParams

    params = None if cursor is None else PaginatedRequestParams(cursor=cursor)
    return lambda session: session.list_tools(params=params)


def _ended(owner: asyncio.Task[None]) -> BaseException:
    """Why the connection's owner task stopped (it only stops early on a failure)."""
    if owner.cancelled():
        return ConnectionError("the connection was cancelled")
    return owner.exception() or ConnectionError("the connection ended")


def _consume(task: asyncio.Future[Any]) -> None:
    """Retrieve an abandoned request's outcome so asyncio does not log it as lost."""
    if not task.cancelled():
        task.exception()
